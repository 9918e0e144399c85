fn main() {
    println!("fstop {}", env!("CARGO_PKG_VERSION"));
}
