//! The shape of a type as written: what interior-mutability resolution needs, as plain data built while
//! a file is parsed (no syntax tree outlives the parse).

/// The part of a type that matters for interior mutability.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TyShape {
    /// A path type: its last segment and its generic type arguments.
    Path {
        /// Last path segment, e.g. `Mutex` for `std::sync::Mutex<u8>`.
        name: String,
        /// The segment before it, e.g. `sync` for `std::sync::Mutex<u8>`; `None` for a bare name.
        qualifier: Option<String>,
        /// Generic type arguments, in order.
        args: Vec<TyShape>,
    },
    /// A type made of others that are reachable through it: tuples, arrays, slices and references.
    Many(Vec<TyShape>),
    /// Anything that cannot hold shared mutable state the lint can see: fn pointers, raw pointers, trait
    /// objects, `impl Trait`, macros.
    Opaque,
}

impl TyShape {
    /// Builds the shape of a syn type.
    pub fn of(ty: &syn::Type) -> TyShape {
        match ty {
            syn::Type::Path(path) if path.qself.is_none() => {
                let Some(last) = path.path.segments.last() else {
                    return TyShape::Opaque;
                };
                let args = match &last.arguments {
                    syn::PathArguments::AngleBracketed(generic) => generic
                        .args
                        .iter()
                        .filter_map(|arg| match arg {
                            syn::GenericArgument::Type(ty) => Some(TyShape::of(ty)),
                            _ => None,
                        })
                        .collect(),
                    _ => Vec::new(),
                };
                let segments = &path.path.segments;
                let qualifier = segments
                    .len()
                    .checked_sub(2)
                    .map(|i| segments[i].ident.to_string());
                TyShape::Path {
                    name: last.ident.to_string(),
                    qualifier,
                    args,
                }
            }
            syn::Type::Array(array) => TyShape::Many(vec![TyShape::of(&array.elem)]),
            syn::Type::Slice(slice) => TyShape::Many(vec![TyShape::of(&slice.elem)]),
            syn::Type::Reference(reference) => TyShape::Many(vec![TyShape::of(&reference.elem)]),
            syn::Type::Paren(paren) => TyShape::of(&paren.elem),
            syn::Type::Group(group) => TyShape::of(&group.elem),
            syn::Type::Tuple(tuple) => TyShape::Many(tuple.elems.iter().map(TyShape::of).collect()),
            _ => TyShape::Opaque,
        }
    }

    /// Adds every path name in this shape to `out`.
    pub fn names<'a>(&'a self, out: &mut Vec<&'a str>) {
        match self {
            TyShape::Path { name, args, .. } => {
                out.push(name);
                args.iter().for_each(|arg| arg.names(out));
            }
            TyShape::Many(parts) => parts.iter().for_each(|part| part.names(out)),
            TyShape::Opaque => {}
        }
    }
}

/// A type the crate defines: `type Name<P…> = Shape;`, or a struct, enum or union with the shapes of all
/// its fields.
#[derive(Clone, Debug)]
pub struct TypeDef {
    /// Names of the type parameters, in order.
    params: Vec<String>,
    /// The aliased shape, or the shapes of the fields.
    shapes: Vec<TyShape>,
}

impl TypeDef {
    /// A definition with type parameters `params` made of `shapes`.
    pub fn new(params: Vec<String>, shapes: Vec<TyShape>) -> TypeDef {
        TypeDef { params, shapes }
    }

    pub(crate) fn shapes(&self) -> &[TyShape] {
        &self.shapes
    }

    /// The shapes with each type parameter replaced by the argument `args` gives it: the fields of
    /// `Wrapper<AtomicU8>` for `struct Wrapper<T>(T)` are `AtomicU8`.
    pub(crate) fn instantiate(&self, args: &[TyShape]) -> Vec<TyShape> {
        if self.params.is_empty() {
            return self.shapes.clone();
        }
        self.shapes
            .iter()
            .map(|shape| substitute(shape, &self.params, args))
            .collect()
    }
}

fn substitute(shape: &TyShape, params: &[String], args: &[TyShape]) -> TyShape {
    match shape {
        TyShape::Path {
            name,
            qualifier: None,
            args: own,
        } if own.is_empty() => match params.iter().position(|p| p == name) {
            Some(i) => args.get(i).cloned().unwrap_or(TyShape::Opaque),
            None => shape.clone(),
        },
        TyShape::Path {
            name,
            qualifier,
            args: own,
        } => TyShape::Path {
            name: name.clone(),
            qualifier: qualifier.clone(),
            args: own.iter().map(|a| substitute(a, params, args)).collect(),
        },
        TyShape::Many(parts) => {
            TyShape::Many(parts.iter().map(|p| substitute(p, params, args)).collect())
        }
        TyShape::Opaque => TyShape::Opaque,
    }
}
