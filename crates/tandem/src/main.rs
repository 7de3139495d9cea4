//! The `tandem` binary. (Placeholder; the server helper wires `tandem server`.)

#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() {
    eprintln!("tandem: not yet wired");
    std::process::exit(1);
}
