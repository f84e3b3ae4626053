//! The lint evaluates `SI_SUB_*`/`SI_ORDER_*` from its own table: it must be the runtime's, name for
//! name and value for value.

#[test]
fn the_lint_knows_the_runtime_values() {
    assert_eq!(
        vnet_lint::model::keys::SUBSYSTEMS,
        vnet_runtime::subsystem::SUBSYSTEMS
    );
    assert_eq!(
        vnet_lint::model::keys::ORDERS,
        vnet_runtime::subsystem::ORDERS
    );
    assert_eq!(
        vnet_lint::model::keys::SI_SUB_VNET,
        vnet_runtime::subsystem::SI_SUB_VNET
    );
    assert_eq!(
        vnet_lint::model::keys::SI_SUB_VNET_DONE,
        vnet_runtime::subsystem::SI_SUB_VNET_DONE
    );
    for (name, value) in vnet_runtime::subsystem::SUBSYSTEMS
        .iter()
        .chain(vnet_runtime::subsystem::ORDERS)
    {
        assert_eq!(
            vnet_lint::model::keys::subsystem_name(*value),
            vnet_runtime::subsystem::subsystem_name(*value),
            "{name}"
        );
        assert_eq!(
            vnet_lint::model::keys::order_name(*value + 3),
            vnet_runtime::subsystem::order_name(*value + 3),
            "{name}"
        );
    }
}
