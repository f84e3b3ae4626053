// H9: foreign statics written by Rust.
extern "C" {
    static mut cpu_feature_flags: u32; // EXPECT VN107
    static hz: i32;
}

macro_rules! c_globals {
    ($($item:item)*) => { $($item)* };
}

c_globals! {
    extern "C" {
        static mut shared_debug_level: i32; // EXPECT VN107
    }
}

pub fn detect() {
    unsafe {
        cpu_feature_flags = 3; // written here: reported at the declaration
        shared_debug_level = 1;
    }
}

pub fn read_only() -> i32 {
    unsafe { hz }
}
