//! The runtime's `SI_SUB_*` and `SI_ORDER_*` values (`vnet-runtime/src/subsystem.rs`), for evaluating
//! hook and module keys without compiling the user's code. A test compares these tables with the
//! runtime's own, so the two cannot drift apart.

/// Every `SI_SUB_*` constant of the runtime, ascending.
pub const SUBSYSTEMS: &[(&str, u32)] = &[
    ("SI_SUB_DUMMY", 0x0000000),
    ("SI_SUB_DONE", 0x0000001),
    ("SI_SUB_TUNABLES", 0x0700000),
    ("SI_SUB_COPYRIGHT", 0x0800001),
    ("SI_SUB_VM", 0x1000000),
    ("SI_SUB_COUNTER", 0x1100000),
    ("SI_SUB_KMEM", 0x1800000),
    ("SI_SUB_HYPERVISOR", 0x1A40000),
    ("SI_SUB_WITNESS", 0x1A80000),
    ("SI_SUB_MTX_POOL_DYNAMIC", 0x1AC0000),
    ("SI_SUB_LOCK", 0x1B00000),
    ("SI_SUB_EVENTHANDLER", 0x1C00000),
    ("SI_SUB_VNET_PRELINK", 0x1E00000),
    ("SI_SUB_KLD", 0x2000000),
    ("SI_SUB_CPU", 0x2100000),
    ("SI_SUB_RACCT", 0x2110000),
    ("SI_SUB_KDTRACE", 0x2140000),
    ("SI_SUB_RANDOM", 0x2160000),
    ("SI_SUB_MAC", 0x2180000),
    ("SI_SUB_MAC_POLICY", 0x21C0000),
    ("SI_SUB_MAC_LATE", 0x21D0000),
    ("SI_SUB_VNET", 0x21E0000),
    ("SI_SUB_INTRINSIC", 0x2200000),
    ("SI_SUB_VM_CONF", 0x2300000),
    ("SI_SUB_DDB_SERVICES", 0x2380000),
    ("SI_SUB_RUN_QUEUE", 0x2400000),
    ("SI_SUB_KTRACE", 0x2480000),
    ("SI_SUB_OPENSOLARIS", 0x2490000),
    ("SI_SUB_AUDIT", 0x24C0000),
    ("SI_SUB_CREATE_INIT", 0x2500000),
    ("SI_SUB_SCHED_IDLE", 0x2600000),
    ("SI_SUB_MBUF", 0x2700000),
    ("SI_SUB_INTR", 0x2800000),
    ("SI_SUB_TASKQ", 0x2880000),
    ("SI_SUB_EPOCH", 0x2888000),
    ("SI_SUB_SMP", 0x2900000),
    ("SI_SUB_SOFTINTR", 0x2A00000),
    ("SI_SUB_DEVFS", 0x2F00000),
    ("SI_SUB_INIT_IF", 0x3000000),
    ("SI_SUB_NETGRAPH", 0x3010000),
    ("SI_SUB_DTRACE", 0x3020000),
    ("SI_SUB_DTRACE_PROVIDER", 0x3048000),
    ("SI_SUB_DTRACE_ANON", 0x308C000),
    ("SI_SUB_DRIVERS", 0x3100000),
    ("SI_SUB_CONFIGURE", 0x3800000),
    ("SI_SUB_VFS", 0x4000000),
    ("SI_SUB_CLOCKS", 0x4800000),
    ("SI_SUB_SYSV_SHM", 0x6400000),
    ("SI_SUB_SYSV_SEM", 0x6800000),
    ("SI_SUB_SYSV_MSG", 0x6C00000),
    ("SI_SUB_P1003_1B", 0x6E00000),
    ("SI_SUB_PSEUDO", 0x7000000),
    ("SI_SUB_EXEC", 0x7400000),
    ("SI_SUB_PROTO_BEGIN", 0x8000000),
    ("SI_SUB_PROTO_PFIL", 0x8100000),
    ("SI_SUB_PROTO_IF", 0x8400000),
    ("SI_SUB_PROTO_DOMAININIT", 0x8600000),
    ("SI_SUB_PROTO_MC", 0x8700000),
    ("SI_SUB_PROTO_DOMAIN", 0x8800000),
    ("SI_SUB_PROTO_FIREWALL", 0x8806000),
    ("SI_SUB_PROTO_IFATTACHDOMAIN", 0x8808000),
    ("SI_SUB_PROTO_END", 0x8ffffff),
    ("SI_SUB_KPROF", 0x9000000),
    ("SI_SUB_KICK_SCHEDULER", 0xa000000),
    ("SI_SUB_INT_CONFIG_HOOKS", 0xa800000),
    ("SI_SUB_ROOT_CONF", 0xb000000),
    ("SI_SUB_INTRINSIC_POST", 0xd000000),
    ("SI_SUB_SYSCALLS", 0xd800000),
    ("SI_SUB_VNET_DONE", 0xdc00000),
    ("SI_SUB_KTHREAD_INIT", 0xe000000),
    ("SI_SUB_KTHREAD_PAGE", 0xe400000),
    ("SI_SUB_KTHREAD_VM", 0xe800000),
    ("SI_SUB_KTHREAD_BUF", 0xea00000),
    ("SI_SUB_KTHREAD_UPDATE", 0xec00000),
    ("SI_SUB_KTHREAD_IDLE", 0xee00000),
    ("SI_SUB_LAST", 0xfffffff),
];

/// Every `SI_ORDER_*` constant of the runtime, ascending.
pub const ORDERS: &[(&str, u32)] = &[
    ("SI_ORDER_FIRST", 0x0000000),
    ("SI_ORDER_SECOND", 0x0000001),
    ("SI_ORDER_THIRD", 0x0000002),
    ("SI_ORDER_FOURTH", 0x0000003),
    ("SI_ORDER_FIFTH", 0x0000004),
    ("SI_ORDER_SIXTH", 0x0000005),
    ("SI_ORDER_SEVENTH", 0x0000006),
    ("SI_ORDER_EIGHTH", 0x0000007),
    ("SI_ORDER_MIDDLE", 0x1000000),
    ("SI_ORDER_ANY", 0xfffffff),
];

/// `SI_SUB_VNET`: per-instance hooks need a subsystem above it.
pub const SI_SUB_VNET: u32 = 0x21E0000;
/// `SI_SUB_VNET_DONE`: per-instance hooks need a subsystem at or below it.
pub const SI_SUB_VNET_DONE: u32 = 0xdc00000;

/// The value of a runtime constant by name (`SI_SUB_PROTO_BEGIN`, `SI_ORDER_ANY`).
///
/// ```
/// assert_eq!(vnet_lint::model::keys::value("SI_ORDER_SECOND"), Some(1));
/// ```
pub fn value(name: &str) -> Option<u32> {
    SUBSYSTEMS
        .iter()
        .chain(ORDERS)
        .find(|(n, _)| *n == name)
        .map(|(_, v)| *v)
}

/// Whether a per-instance hook may use `subsystem`: `(SI_SUB_VNET, SI_SUB_VNET_DONE]`.
pub fn is_vnet_subsystem(subsystem: u32) -> bool {
    subsystem > SI_SUB_VNET && subsystem <= SI_SUB_VNET_DONE
}

/// `value` as the nearest named constant with a signed offset, exactly as the runtime's trace lines
/// write it: `SI_SUB_PROTO_BEGIN`, `SI_ORDER_ANY+64`, `SI_ORDER_ANY-2`; at equal distance the
/// constant below wins.
fn symbolic(table: &[(&str, u32)], value: u32) -> String {
    // The nearest name by distance; on a tie the one below wins (it comes first in the sorted table).
    let nearest = table
        .iter()
        .min_by_key(|(_, v)| (i64::from(*v) - i64::from(value)).unsigned_abs());
    match nearest {
        Some((name, v)) if *v == value => (*name).to_owned(),
        Some((name, v)) if *v < value => format!("{name}+{}", value - v),
        Some((name, v)) => format!("{name}-{}", v - value),
        None => format!("{value:#x}"),
    }
}

/// A subsystem value as the runtime's trace writes it.
///
/// ```
/// assert_eq!(vnet_lint::model::keys::subsystem_name(0x8000000 + 3), "SI_SUB_PROTO_BEGIN+3");
/// ```
pub fn subsystem_name(value: u32) -> String {
    symbolic(SUBSYSTEMS, value)
}

/// An order value as the runtime's trace writes it.
///
/// ```
/// assert_eq!(vnet_lint::model::keys::order_name(0xfffffff), "SI_ORDER_ANY");
/// assert_eq!(vnet_lint::model::keys::order_name(0xfffffff - 2), "SI_ORDER_ANY-2");
/// ```
pub fn order_name(value: u32) -> String {
    symbolic(ORDERS, value)
}
