// A plain behavioural FPEC MAC, written the way an engineer would by hand
// from FPEC-SPEC.md section 4 and 6.1: one '*', one wide accumulator.
// It is the quality-of-results baseline for the generated MAC and a sample of
// "someone else's RTL" for `fpec verify --rtl`. Latency 1.
//
// Parameters: W computation bits, M emb bits (0..2), Z ezb present (0/1),
// S sum width (accumulator), C = Z + 1 + M, N = W + C, G = M + 2.
`default_nettype none
module handwritten_fpec_mac #(
    parameter integer W = 6,
    parameter integer M = 0,
    parameter integer Z = 1,
    parameter integer S = 28
) (
    input  wire             clk,
    input  wire             rst,
    input  wire             in_valid,
    input  wire             in_first,
    input  wire             in_last,
    input  wire [W+Z+M:0]   w,
    input  wire [W+Z+M:0]   a,
    output reg              out_valid,
    output reg  [S-1:0]     out_sum
);
    localparam integer C = Z + 1 + M;
    localparam integer G = M + 2;

    wire signed [W-1:0] qw = w[W+C-1:C];
    wire signed [W-1:0] qa = a[W+C-1:C];

    // est = 0 if (Z and ezb) else (edb ? +1 : -1) * (2*emb + 1)
    function signed [M+2:0] est_of(input [W+C-1:0] word);
        reg [2:0] mag;
        begin
            mag = (M == 0) ? 3'd1 : {word[(M > 0 ? M-1 : 0):0], 1'b1};
            if (Z == 1 && word[C-1])
                est_of = 0;
            else if (word[M])
                est_of = $signed({1'b0, mag});
            else
                est_of = -$signed({1'b0, mag});
        end
    endfunction

    wire signed [M+2:0] ew = est_of(w);
    wire signed [M+2:0] ea = est_of(a);

    wire signed [S-1:0] term = ($signed(qw) * $signed(qa)) * (2 ** G)
                             + $signed(qw) * ea + $signed(qa) * ew;
    reg signed [S-1:0] acc;

    always @(posedge clk) begin
        if (rst) begin
            acc <= 0;
            out_valid <= 1'b0;
            out_sum <= 0;
        end else begin
            out_valid <= in_valid && in_last;
            if (in_valid) begin
                if (in_first) begin
                    acc <= term;
                    if (in_last) out_sum <= term;
                end else begin
                    acc <= acc + term;
                    if (in_last) out_sum <= acc + term;
                end
            end
        end
    end
endmodule
`default_nettype wire
