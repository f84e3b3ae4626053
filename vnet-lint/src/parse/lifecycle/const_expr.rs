//! Key expressions as written: integers, paths, arithmetic, parentheses and casts.

/// A constant expression as written: integers, paths, arithmetic, parentheses and casts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConstExpr {
    /// An integer literal.
    Int(u128),
    /// A path (`SI_SUB_PSEUDO`, `crate::consts::ORDER`, `vnet_runtime::subsystem::SI_ORDER_ANY`).
    Path(Vec<String>),
    /// `a op b` for `+ - * / % << >> | & ^`.
    Binary(char, Box<ConstExpr>, Box<ConstExpr>),
    /// `-a`.
    Neg(Box<ConstExpr>),
    /// `a as T` for an integer type `T` (`u8` … `u128`, `i8` … `i128`, `usize`, `isize`): the value
    /// is truncated or sign-extended as Rust does. Casts to other types are transparent.
    Cast(String, Box<ConstExpr>),
    /// Anything else (a `const fn` call, a block…), with its text.
    Unsupported(String),
}

impl ConstExpr {
    /// Reads a syn expression parsed from `src`; parentheses, groups and `as` casts are transparent.
    /// What it does not evaluate keeps its text as written in `src`.
    pub fn from_syn(expr: &syn::Expr, src: &str) -> ConstExpr {
        use syn::{BinOp, Expr, Lit};
        match expr {
            Expr::Lit(lit) => match &lit.lit {
                Lit::Int(int) => int
                    .base10_parse::<u128>()
                    .map_or_else(|_| ConstExpr::Unsupported(text(expr, src)), ConstExpr::Int),
                _ => ConstExpr::Unsupported(text(expr, src)),
            },
            Expr::Path(path) if path.qself.is_none() => ConstExpr::Path(
                path.path
                    .segments
                    .iter()
                    .map(|s| s.ident.to_string())
                    .collect(),
            ),
            Expr::Paren(inner) => ConstExpr::from_syn(&inner.expr, src),
            Expr::Group(inner) => ConstExpr::from_syn(&inner.expr, src),
            Expr::Cast(cast) => {
                let inner = ConstExpr::from_syn(&cast.expr, src);
                match &*cast.ty {
                    syn::Type::Path(p)
                        if p.qself.is_none()
                            && p.path
                                .get_ident()
                                .is_some_and(|i| int_bits(&i.to_string()).is_some()) =>
                    {
                        let ty = p
                            .path
                            .get_ident()
                            .map(ToString::to_string)
                            .unwrap_or_default();
                        ConstExpr::Cast(ty, Box::new(inner))
                    }
                    _ => inner,
                }
            }
            Expr::Unary(unary) if matches!(unary.op, syn::UnOp::Neg(_)) => {
                ConstExpr::Neg(Box::new(ConstExpr::from_syn(&unary.expr, src)))
            }
            Expr::Binary(bin) => {
                let op = match bin.op {
                    BinOp::Add(_) => '+',
                    BinOp::Sub(_) => '-',
                    BinOp::Mul(_) => '*',
                    BinOp::Div(_) => '/',
                    BinOp::Rem(_) => '%',
                    BinOp::Shl(_) => '<',
                    BinOp::Shr(_) => '>',
                    BinOp::BitOr(_) => '|',
                    BinOp::BitAnd(_) => '&',
                    BinOp::BitXor(_) => '^',
                    _ => return ConstExpr::Unsupported(text(expr, src)),
                };
                ConstExpr::Binary(
                    op,
                    Box::new(ConstExpr::from_syn(&bin.left, src)),
                    Box::new(ConstExpr::from_syn(&bin.right, src)),
                )
            }
            _ => ConstExpr::Unsupported(text(expr, src)),
        }
    }
}

/// The width and signedness of the integer type named `ty` (`usize`/`isize` as 64 bits).
///
/// ```
/// assert_eq!(vnet_lint::parse::lifecycle::const_expr::int_bits("u32"), Some((32, false)));
/// assert_eq!(vnet_lint::parse::lifecycle::const_expr::int_bits("f64"), None);
/// ```
pub fn int_bits(ty: &str) -> Option<(u32, bool)> {
    Some(match ty {
        "u8" => (8, false),
        "u16" => (16, false),
        "u32" => (32, false),
        "u64" | "usize" => (64, false),
        "u128" => (128, false),
        "i8" => (8, true),
        "i16" => (16, true),
        "i32" => (32, true),
        "i64" | "isize" => (64, true),
        "i128" => (128, true),
        _ => return None,
    })
}

/// `expr` as written in `src` (its span's bytes; line breaks and the indentation after them become one
/// space), or its tokens when the span is not a range of `src`.
fn text(expr: &syn::Expr, src: &str) -> String {
    use syn::spanned::Spanned;
    match src.get(expr.span().byte_range()) {
        Some(written) if !written.is_empty() => {
            written.lines().map(str::trim).collect::<Vec<_>>().join(" ")
        }
        _ => quote::ToTokens::to_token_stream(expr).to_string(),
    }
}
