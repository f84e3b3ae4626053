//! The rule catalog: every diagnostic code the lint can emit, with its documentation.
//!
//! A rule is one file holding its documentation (the template of STYLE.md §2) and its metadata, declared
//! with `declare_rule!`. The order of [`RULES`] is the order of `explain` and of the SARIF rule table.
//! Families: `VN0xx` input problems, `VN1xx` globals, `VN2xx` ordering, `VN3xx` context.

pub mod builtin;
pub mod context;
pub mod globals;
pub mod order;

pub(crate) use crate::rule::declare_rule;
pub use crate::rule::{Family, Level, Rule};

/// Every rule, in documentation order.
pub static RULES: &[&Rule] = &[
    &builtin::io_error::IoError::RULE,
    &builtin::parse_error::ParseError::RULE,
    &globals::static_mut::StaticMut::RULE,
    &globals::interior_mutable_static::InteriorMutableStatic::RULE,
    &globals::lazy_static_global::LazyStaticGlobal::RULE,
    &globals::thread_local_global::ThreadLocalGlobal::RULE,
    &globals::suppression_without_reason::SuppressionWithoutReason::RULE,
    &globals::unknown_rule_in_allow::UnknownRuleInAllow::RULE,
    &globals::foreign_global::ForeignGlobal::RULE,
    &globals::half_ported_state::HalfPortedState::RULE,
    &order::order_key_unresolved::OrderKeyUnresolved::RULE,
    &order::vnet_hook_outside_vnet::VnetHookOutsideVnet::RULE,
    &order::vnet_sysinit_before_module::VnetSysinitBeforeModule::RULE,
    &order::module_dependency::ModuleDependency::RULE,
    &order::init_without_uninit::InitWithoutUninit::RULE,
    &order::reads_state_initialized_later::ReadsStateInitializedLater::RULE,
    &order::same_key_shared_state::SameKeySharedState::RULE,
    &order::shutdown_tears_nothing_down::ShutdownTearsNothingDown::RULE,
    &order::unregistered_handler::UnregisteredHandler::RULE,
    &order::reads_state_torn_down::ReadsStateTornDown::RULE,
    &context::guard_dropped_at_once::GuardDroppedAtOnce::RULE,
    &context::v_accessor_in_spawned_closure::VAccessorInSpawnedClosure::RULE,
    &context::guard_held_across_await::GuardHeldAcrossAwait::RULE,
];

/// Finds a rule by code (`VN102`, any case) or by name (`interior-mutable-static` or `interior_mutable_static`).
pub fn find(key: &str) -> Option<&'static Rule> {
    let key = key.trim();
    RULES.iter().copied().find(|rule| rule.is_named(key))
}

/// Shorthands for the rules the analysis emits.
pub mod id {
    use super::Rule;

    /// `VN001 io-error`.
    pub const IO_ERROR: &Rule = &super::builtin::io_error::IoError::RULE;
    /// `VN002 parse-error`.
    pub const PARSE_ERROR: &Rule = &super::builtin::parse_error::ParseError::RULE;
    /// `VN101 static-mut`.
    pub const STATIC_MUT: &Rule = &super::globals::static_mut::StaticMut::RULE;
    /// `VN102 interior-mutable-static`.
    pub const INTERIOR_MUTABLE_STATIC: &Rule =
        &super::globals::interior_mutable_static::InteriorMutableStatic::RULE;
    /// `VN103 lazy-static-global`.
    pub const LAZY_STATIC_GLOBAL: &Rule =
        &super::globals::lazy_static_global::LazyStaticGlobal::RULE;
    /// `VN104 thread-local-global`.
    pub const THREAD_LOCAL_GLOBAL: &Rule =
        &super::globals::thread_local_global::ThreadLocalGlobal::RULE;
    /// `VN105 suppression-without-reason`.
    pub const SUPPRESSION_WITHOUT_REASON: &Rule =
        &super::globals::suppression_without_reason::SuppressionWithoutReason::RULE;
}
