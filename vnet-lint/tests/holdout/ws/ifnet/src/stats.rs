use routing::V_RT_NUMFIBS as FIBS;
use std::sync::atomic::Ordering::Relaxed;

pub fn snapshot() -> u32 {
    FIBS.with(|n| n.load(Relaxed))
}
