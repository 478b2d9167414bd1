//! The process allocator: the system allocator, except that huge allocations (≥ 1 GiB) are reserved as
//! `MAP_NORESERVE` anonymous mappings.
//!
//! Why: `kafka-protocol` 0.18 decodes an array by calling `Vec::with_capacity(n)` with the element count
//! read off the wire before checking it against the bytes present. A 40-byte request claiming two
//! billion elements asks for tens of GB; the system allocator refuses and Rust *aborts the process* — one
//! malformed request would kill the broker (found by `tests/fuzz`). Reserved-but-untouched address space
//! costs nothing, decoding then fails on the missing bytes, and the mapping is released. No legitimate
//! allocation in the broker comes near 1 GiB (requests are capped by `socket.request.max.bytes`).

use std::alloc::{GlobalAlloc, Layout, System};

const HUGE: usize = 1 << 30;
const PAGE: usize = 4096;

pub struct Allocator;

fn is_huge(layout: &Layout) -> bool {
    layout.size() >= HUGE && layout.align() <= PAGE
}

// SAFETY: small layouts are forwarded to `System` unchanged; huge ones get page-aligned, zero-filled
// anonymous mappings of at least `size` bytes, freed with munmap of the same size. `is_huge` depends only
// on the layout, so every block is freed by the allocator that made it.
unsafe impl GlobalAlloc for Allocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if !is_huge(&layout) {
            // SAFETY: forwarded with the caller's guarantees.
            return unsafe { System.alloc(layout) };
        }
        // SAFETY: a fresh private anonymous mapping; no existing memory is affected.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                layout.size(),
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            std::ptr::null_mut()
        } else {
            ptr.cast()
        }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if is_huge(&layout) {
            // SAFETY: anonymous mappings are zero-filled.
            unsafe { self.alloc(layout) }
        } else {
            // SAFETY: forwarded with the caller's guarantees.
            unsafe { System.alloc_zeroed(layout) }
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if is_huge(&layout) {
            // SAFETY: `ptr` came from our mmap of exactly `layout.size()` bytes.
            unsafe { libc::munmap(ptr.cast(), layout.size()) };
        } else {
            // SAFETY: forwarded with the caller's guarantees.
            unsafe { System.dealloc(ptr, layout) }
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller guarantees `new_size` with `layout.align()` forms a valid layout.
        let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        if !is_huge(&layout) && !is_huge(&new_layout) {
            // SAFETY: forwarded with the caller's guarantees.
            return unsafe { System.realloc(ptr, layout, new_size) };
        }
        // SAFETY: allocate, copy the live prefix, free the old block — each through the matching path.
        unsafe {
            let new = self.alloc(new_layout);
            if !new.is_null() {
                std::ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size));
                self.dealloc(ptr, layout);
            }
            new
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn absurd_capacity_is_reserved_not_fatal() {
        // What kafka-protocol does with a hostile array length: must not abort.
        let v: Vec<u64> = Vec::with_capacity(8 << 30);
        assert!(v.capacity() >= 8 << 30);
        drop(v);
        let mut grown: Vec<u8> = Vec::with_capacity(16);
        grown.resize(32, 7);
        grown.reserve_exact(super::HUGE);
        assert_eq!(grown[31], 7);
    }
}
