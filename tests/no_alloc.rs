#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "tests and benches fail loudly"
)]
//! Producing and checking a code allocates nothing, shown with a counting
#![allow(
    unsafe_code,
    reason = "a global allocator is unsafe to implement; the library itself forbids unsafe code"
)]
//! global allocator (its own test binary, so no other test allocates in between).

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use twostep::otp::{Algorithm, Code, Secret, Totp, TotpParams, Window};

struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// Only the measuring thread counts: the test harness's own threads may
    /// allocate at any moment.
    static COUNTING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

fn count() {
    if COUNTING.with(std::cell::Cell::get) {
        ALLOCATIONS.fetch_add(1, Ordering::SeqCst);
    }
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn generate_and_verify_do_not_allocate() {
    let secret = Secret::from_base32("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ").unwrap();
    for algorithm in [Algorithm::Sha1, Algorithm::Sha256, Algorithm::Sha512] {
        let totp = Totp::new(&secret, TotpParams::default().with_algorithm(algorithm));
        let window = Window::new(5, 5).unwrap();
        let before = ALLOCATIONS.load(Ordering::SeqCst);
        COUNTING.with(|c| c.set(true));
        let mut accepted = 0;
        for now in (1_700_000_000..1_700_003_000).step_by(7) {
            let code = totp.generate(now).unwrap();
            accepted += usize::from(totp.verify(now, &code, window, None).is_ok());
            let typed = Code::parse(" 123 456 ", totp.params().digits()).unwrap();
            let _ = totp.verify(now, &typed, window, Some(now / 30));
        }
        COUNTING.with(|c| c.set(false));
        let after = ALLOCATIONS.load(Ordering::SeqCst);
        assert_eq!(
            after - before,
            0,
            "{algorithm}: {} allocations",
            after - before
        );
        assert!(accepted > 400);
    }
}
