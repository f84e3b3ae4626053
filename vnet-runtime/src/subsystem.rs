//! `SI_SUB_*` and `SI_ORDER_*`: the (subsystem, order) keys of lifecycle
//! hooks, with FreeBSD's numeric values (`sys/sys/kernel.h`).
//!
//! Any constant `u32` expression is a valid key, so modules define their own
//! relative to these, as FreeBSD's porting guide's `mymod` does:
//!
//! ```
//! use vnet_runtime::subsystem::*;
//! const MYMOD_MAJOR_ORDER: u32 = SI_SUB_PROTO_BEGIN;
//! const MYMOD_MODULE_ORDER: u32 = SI_ORDER_ANY + 64;
//! const MYMOD_SYSINIT_ORDER: u32 = MYMOD_MODULE_ORDER + 1;
//! const MYMOD_VNET_ORDER: u32 = MYMOD_MODULE_ORDER + 2;
//! assert!(MYMOD_MAJOR_ORDER > SI_SUB_VNET && MYMOD_MAJOR_ORDER <= SI_SUB_VNET_DONE);
//! # let _ = (MYMOD_SYSINIT_ORDER, MYMOD_VNET_ORDER);
//! ```
//!
//! Per-instance hooks (`#[vnet_sysinit]`, `#[vnet_sysuninit]`) must use a
//! subsystem in `(SI_SUB_VNET, SI_SUB_VNET_DONE]`, as FreeBSD asserts.

#![allow(missing_docs)]

macro_rules! constants {
    ($table:ident: $($name:ident = $value:expr,)*) => {
        $(pub const $name: u32 = $value;)*
        /// Every named constant of this family, in ascending value order.
        #[doc(hidden)]
        pub const $table: &[(&str, u32)] = &[$((stringify!($name), $value),)*];
    };
}

constants! { SUBSYSTEMS:
    SI_SUB_DUMMY = 0x0000000,
    SI_SUB_DONE = 0x0000001,
    SI_SUB_TUNABLES = 0x0700000,
    SI_SUB_COPYRIGHT = 0x0800001,
    SI_SUB_VM = 0x1000000,
    SI_SUB_COUNTER = 0x1100000,
    SI_SUB_KMEM = 0x1800000,
    SI_SUB_HYPERVISOR = 0x1A40000,
    SI_SUB_WITNESS = 0x1A80000,
    SI_SUB_MTX_POOL_DYNAMIC = 0x1AC0000,
    SI_SUB_LOCK = 0x1B00000,
    SI_SUB_EVENTHANDLER = 0x1C00000,
    SI_SUB_VNET_PRELINK = 0x1E00000,
    SI_SUB_KLD = 0x2000000,
    SI_SUB_CPU = 0x2100000,
    SI_SUB_RACCT = 0x2110000,
    SI_SUB_KDTRACE = 0x2140000,
    SI_SUB_RANDOM = 0x2160000,
    SI_SUB_MAC = 0x2180000,
    SI_SUB_MAC_POLICY = 0x21C0000,
    SI_SUB_MAC_LATE = 0x21D0000,
    SI_SUB_VNET = 0x21E0000,
    SI_SUB_INTRINSIC = 0x2200000,
    SI_SUB_VM_CONF = 0x2300000,
    SI_SUB_DDB_SERVICES = 0x2380000,
    SI_SUB_RUN_QUEUE = 0x2400000,
    SI_SUB_KTRACE = 0x2480000,
    SI_SUB_OPENSOLARIS = 0x2490000,
    SI_SUB_AUDIT = 0x24C0000,
    SI_SUB_CREATE_INIT = 0x2500000,
    SI_SUB_SCHED_IDLE = 0x2600000,
    SI_SUB_MBUF = 0x2700000,
    SI_SUB_INTR = 0x2800000,
    SI_SUB_TASKQ = 0x2880000,
    SI_SUB_EPOCH = 0x2888000,
    SI_SUB_SMP = 0x2900000,
    SI_SUB_SOFTINTR = 0x2A00000,
    SI_SUB_DEVFS = 0x2F00000,
    SI_SUB_INIT_IF = 0x3000000,
    SI_SUB_NETGRAPH = 0x3010000,
    SI_SUB_DTRACE = 0x3020000,
    SI_SUB_DTRACE_PROVIDER = 0x3048000,
    SI_SUB_DTRACE_ANON = 0x308C000,
    SI_SUB_DRIVERS = 0x3100000,
    SI_SUB_CONFIGURE = 0x3800000,
    SI_SUB_VFS = 0x4000000,
    SI_SUB_CLOCKS = 0x4800000,
    SI_SUB_SYSV_SHM = 0x6400000,
    SI_SUB_SYSV_SEM = 0x6800000,
    SI_SUB_SYSV_MSG = 0x6C00000,
    SI_SUB_P1003_1B = 0x6E00000,
    SI_SUB_PSEUDO = 0x7000000,
    SI_SUB_EXEC = 0x7400000,
    SI_SUB_PROTO_BEGIN = 0x8000000,
    SI_SUB_PROTO_PFIL = 0x8100000,
    SI_SUB_PROTO_IF = 0x8400000,
    SI_SUB_PROTO_DOMAININIT = 0x8600000,
    SI_SUB_PROTO_MC = 0x8700000,
    SI_SUB_PROTO_DOMAIN = 0x8800000,
    SI_SUB_PROTO_FIREWALL = 0x8806000,
    SI_SUB_PROTO_IFATTACHDOMAIN = 0x8808000,
    SI_SUB_PROTO_END = 0x8ffffff,
    SI_SUB_KPROF = 0x9000000,
    SI_SUB_KICK_SCHEDULER = 0xa000000,
    SI_SUB_INT_CONFIG_HOOKS = 0xa800000,
    SI_SUB_ROOT_CONF = 0xb000000,
    SI_SUB_INTRINSIC_POST = 0xd000000,
    SI_SUB_SYSCALLS = 0xd800000,
    SI_SUB_VNET_DONE = 0xdc00000,
    SI_SUB_KTHREAD_INIT = 0xe000000,
    SI_SUB_KTHREAD_PAGE = 0xe400000,
    SI_SUB_KTHREAD_VM = 0xe800000,
    SI_SUB_KTHREAD_BUF = 0xea00000,
    SI_SUB_KTHREAD_UPDATE = 0xec00000,
    SI_SUB_KTHREAD_IDLE = 0xee00000,
    SI_SUB_LAST = 0xfffffff,
}

constants! { ORDERS:
    SI_ORDER_FIRST = 0x0000000,
    SI_ORDER_SECOND = 0x0000001,
    SI_ORDER_THIRD = 0x0000002,
    SI_ORDER_FOURTH = 0x0000003,
    SI_ORDER_FIFTH = 0x0000004,
    SI_ORDER_SIXTH = 0x0000005,
    SI_ORDER_SEVENTH = 0x0000006,
    SI_ORDER_EIGHTH = 0x0000007,
    SI_ORDER_MIDDLE = 0x1000000,
    SI_ORDER_ANY = 0xfffffff,
}

/// Whether a per-instance hook may use `subsystem`: `(SI_SUB_VNET, SI_SUB_VNET_DONE]`.
///
/// ```
/// use vnet_runtime::subsystem::*;
/// assert!(is_vnet_subsystem(SI_SUB_PROTO_BEGIN));
/// assert!(is_vnet_subsystem(SI_SUB_VNET_DONE));
/// assert!(!is_vnet_subsystem(SI_SUB_VNET));
/// ```
pub const fn is_vnet_subsystem(subsystem: u32) -> bool {
    subsystem > SI_SUB_VNET && subsystem <= SI_SUB_VNET_DONE
}

/// `value` as the nearest named constant with a signed offset: `SI_SUB_PROTO_BEGIN`,
/// `SI_ORDER_ANY+64`, `SI_ORDER_ANY-2`; at equal distance the constant below wins.
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

/// A subsystem value as written in trace lines.
///
/// ```
/// use vnet_runtime::subsystem::*;
/// assert_eq!(subsystem_name(SI_SUB_PROTO_BEGIN), "SI_SUB_PROTO_BEGIN");
/// assert_eq!(subsystem_name(SI_SUB_PSEUDO + 3), "SI_SUB_PSEUDO+3");
/// ```
pub fn subsystem_name(subsystem: u32) -> String {
    symbolic(SUBSYSTEMS, subsystem)
}

/// An order value as written in trace lines.
///
/// ```
/// use vnet_runtime::subsystem::*;
/// assert_eq!(order_name(SI_ORDER_ANY + 64), "SI_ORDER_ANY+64");
/// assert_eq!(order_name(SI_ORDER_SECOND), "SI_ORDER_SECOND");
/// assert_eq!(order_name(SI_ORDER_ANY - 2), "SI_ORDER_ANY-2");
/// assert_eq!(order_name(SI_ORDER_MIDDLE + 2), "SI_ORDER_MIDDLE+2");
/// ```
pub fn order_name(order: u32) -> String {
    symbolic(ORDERS, order)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_use_the_nearest_constant_with_a_signed_offset() {
        assert_eq!(order_name(SI_ORDER_ANY - 2), "SI_ORDER_ANY-2");
        assert_eq!(order_name(SI_ORDER_MIDDLE - 1), "SI_ORDER_MIDDLE-1");
        assert_eq!(order_name(SI_ORDER_EIGHTH + 1), "SI_ORDER_EIGHTH+1");
        assert_eq!(order_name(u32::MAX), "SI_ORDER_ANY+4026531840");
        // Halfway between MIDDLE (0x1000000) and ANY (0xfffffff) is not an integer; one below
        // the tie point goes to MIDDLE, one above to ANY.
        assert_eq!(order_name(0x87fffff), "SI_ORDER_MIDDLE+125829119");
        assert_eq!(order_name(0x8800000), "SI_ORDER_ANY-125829119");
        // An exact tie (halfway between SI_SUB_VNET and SI_SUB_INTRINSIC) goes to the one below.
        assert_eq!(subsystem_name(0x21F0000), "SI_SUB_VNET+65536");
        assert_eq!(subsystem_name(0x21F0001), "SI_SUB_INTRINSIC-65535");
        assert_eq!(subsystem_name(SI_SUB_VNET - 1), "SI_SUB_VNET-1");
        assert_eq!(
            subsystem_name(SI_SUB_PROTO_BEGIN + 3),
            "SI_SUB_PROTO_BEGIN+3"
        );
    }

    #[test]
    fn tables_are_sorted_and_unique() {
        for table in [SUBSYSTEMS, ORDERS] {
            assert!(table.windows(2).all(|w| w[0].1 < w[1].1), "{table:?}");
        }
    }
}
