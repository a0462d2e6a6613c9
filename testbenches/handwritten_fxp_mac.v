// Behavioural FxP MAC (spec 6.1 ports, latency 1): the FxP 8/16-bit energy
// baseline used by `fpec energy` until the generator's `fxp_mac` is merged.
// Parameters: W word width, S sum width (2W + ceil(log2 max_len)).
`default_nettype none
module handwritten_fxp_mac #(
    parameter integer W = 8,
    parameter integer S = 28
) (
    input  wire             clk,
    input  wire             rst,
    input  wire             in_valid,
    input  wire             in_first,
    input  wire             in_last,
    input  wire [W-1:0]     w,
    input  wire [W-1:0]     a,
    output reg              out_valid,
    output reg  [S-1:0]     out_sum
);
    wire signed [2*W-1:0] prod = $signed(w) * $signed(a);
    wire signed [S-1:0] term = prod;
    reg signed [S-1:0] acc;
    wire signed [S-1:0] nxt = (in_first ? {S{1'b0}} : acc) + term;

    always @(posedge clk) begin
        if (rst) begin
            acc <= 0;
            out_valid <= 1'b0;
            out_sum <= 0;
        end else begin
            out_valid <= in_valid && in_last;
            if (in_valid) begin
                acc <= nxt;
                if (in_last) out_sum <= nxt;
            end
        end
    end
endmodule
`default_nettype wire
