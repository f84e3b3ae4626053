// A process-wide global must say why it stays global (the lint reads it).
use std::sync::Mutex;

#[vnet_runtime::global]
static CONSOLE: Mutex<u32> = Mutex::new(0);

#[vnet_runtime::global(reason = "")]
static UART: Mutex<u32> = Mutex::new(0);

fn main() {
    let _ = (CONSOLE.lock(), UART.lock());
}
