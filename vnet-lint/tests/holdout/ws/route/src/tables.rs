use std::sync::atomic::Ordering::Relaxed;

pub fn numfibs() -> u32 {
    crate::V_RT_NUMFIBS.with(|n| n.load(Relaxed))
}

pub fn indirect() -> u32 {
    self::numfibs() + 1
}
