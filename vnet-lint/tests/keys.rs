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

/// Values between the names: both sides name them by the nearest constant with a signed offset
/// (`SI_ORDER_ANY-2`, not `SI_ORDER_MIDDLE+251658237`), the one below on a tie.
#[test]
fn names_between_constants_agree_and_use_the_nearest() {
    for table in [
        vnet_runtime::subsystem::SUBSYSTEMS,
        vnet_runtime::subsystem::ORDERS,
    ] {
        let mut probes = Vec::new();
        for (i, (_, value)) in table.iter().enumerate() {
            for delta in 0..=3u32 {
                probes.push(value.saturating_sub(delta));
                probes.push(value.saturating_add(delta));
            }
            if let Some((_, next)) = table.get(i + 1) {
                let mid = value + (next - value) / 2;
                probes.extend([mid, mid + 1, mid.saturating_sub(1)]);
            }
        }
        probes.push(u32::MAX);
        for value in probes {
            assert_eq!(
                vnet_lint::model::keys::subsystem_name(value),
                vnet_runtime::subsystem::subsystem_name(value),
                "{value:#x}"
            );
            assert_eq!(
                vnet_lint::model::keys::order_name(value),
                vnet_runtime::subsystem::order_name(value),
                "{value:#x}"
            );
        }
    }
    assert_eq!(
        vnet_lint::model::keys::order_name(0xfffffff - 2),
        "SI_ORDER_ANY-2"
    );
    assert_eq!(
        vnet_lint::model::keys::order_name(0xfffffff - 65),
        "SI_ORDER_ANY-65"
    );
    assert_eq!(
        vnet_lint::model::keys::order_name(0x1000000 + 1),
        "SI_ORDER_MIDDLE+1"
    );
    // Halfway between SI_SUB_VNET (0x21E0000) and SI_SUB_INTRINSIC (0x2200000): the one below.
    assert_eq!(
        vnet_lint::model::keys::subsystem_name(0x21F0000),
        "SI_SUB_VNET+65536"
    );
    assert_eq!(
        vnet_lint::model::keys::subsystem_name(0x21F0001),
        "SI_SUB_INTRINSIC-65535"
    );
}
