// An instance's copy may be used from any thread and dropped on another one,
// so the type must be Send + Sync: a Cell is neither shareable nor a lock.
use std::cell::Cell;
use vnet_runtime::vnet;

#[vnet]
static HITS: Cell<u32> = Cell::new(0);

fn main() {
    V_HITS.with(|h| h.set(1));
}
