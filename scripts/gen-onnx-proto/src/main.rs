//! Writes the prost code for `proto/onnx.proto` to the file named by the
//! first argument (run through scripts/gen-onnx-proto.sh).

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let proto_dir = args.next().ok_or("usage: gen-onnx-proto PROTO_DIR OUT_DIR")?;
    let out_dir = args.next().ok_or("usage: gen-onnx-proto PROTO_DIR OUT_DIR")?;
    let fds = protox::compile(["onnx.proto"], [proto_dir])?;
    prost_build::Config::new()
        .out_dir(out_dir)
        .compile_fds(fds)?;
    Ok(())
}
