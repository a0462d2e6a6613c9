//! The `fpec` command line: parses arguments and hands over to the library.
fn main() {
    std::process::exit(fpec::cli::main());
}
