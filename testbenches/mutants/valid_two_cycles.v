// MUTANT valid_two_cycles: out_valid stays high for two cycles per result.
// Deliberately broken copy of testbenches/handwritten_fpec_mac.v; `fpec verify --rtl`
// must fail on it (tests/verify_mutants.rs).
// A plain behavioural FPEC MAC, written the way an engineer would by hand
// from FPEC-SPEC.md section 4 and 6.1: one product expression, one wide
// accumulator. It is the quality-of-results baseline for the generated MAC and
// a sample of "someone else's RTL" for `fpec verify --rtl`. Latency 1.
//
// Parameters: W computation bits (2..16), M emb bits (0..2), Z ezb present
// (0/1), S sum width (accumulator; must exceed 2W+M+2 and cover Lmax).
// Derived: C = Z + 1 + M, N = W + C, G = M + 2.
// Lint-clean under `verilator --lint-only -Wall` for every W, M, Z above.
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
    // Width of one pair's term: qw*qa*2^G needs 2W+G bits, plus the
    // compensation terms: one more bit.
    localparam integer TW = 2 * W + G + 1;

    wire signed [W-1:0] qw = w[W+C-1:C];
    wire signed [W-1:0] qa = a[W+C-1:C];

    // est = 0 if (Z and ezb) else (edb ? +1 : -1) * (2*emb + 1),
    // a signed (M+2)-bit value.
    wire [M:0] mag_w;
    wire [M:0] mag_a;
    wire       zero_w;
    wire       zero_a;
    generate
        if (M == 0) begin : g_mag1
            assign mag_w = 1'b1;
            assign mag_a = 1'b1;
        end else begin : g_magm
            assign mag_w = {w[M-1:0], 1'b1};
            assign mag_a = {a[M-1:0], 1'b1};
        end
        if (Z == 1) begin : g_ezb
            assign zero_w = w[C-1];
            assign zero_a = a[C-1];
        end else begin : g_noezb
            assign zero_w = 1'b0;
            assign zero_a = 1'b0;
        end
    endgenerate

    wire signed [M+1:0] pos_w = $signed({1'b0, mag_w});
    wire signed [M+1:0] pos_a = $signed({1'b0, mag_a});
    wire signed [M+1:0] ew = zero_w ? {(M+2){1'b0}} : (w[M] ? pos_w : -pos_w);
    wire signed [M+1:0] ea = zero_a ? {(M+2){1'b0}} : (a[M] ? pos_a : -pos_a);

    // term = qw*qa*2^G + qw*est(a) + qa*est(w), all in TW signed bits.
    wire signed [TW-1:0] qw_x = {{(TW-W){qw[W-1]}}, qw};
    wire signed [TW-1:0] qa_x = {{(TW-W){qa[W-1]}}, qa};
    wire signed [TW-1:0] ew_x = {{(TW-M-2){ew[M+1]}}, ew};
    wire signed [TW-1:0] ea_x = {{(TW-M-2){ea[M+1]}}, ea};
    wire signed [TW-1:0] term = ((qw_x * qa_x) <<< G) + qw_x * ea_x + qa_x * ew_x;

    // The term sign-extended to the accumulator width S.
    wire signed [S-1:0] term_s;
    generate
        if (S > TW) begin : g_ext
            assign term_s = {{(S-TW){term[TW-1]}}, term};
        end else begin : g_same
            assign term_s = term[S-1:0];
        end
    endgenerate

    reg signed [S-1:0] acc;
    reg hold;
    wire signed [S-1:0] acc_next = in_first ? term_s : acc + term_s;

    always @(posedge clk) begin
        if (rst) begin
            acc <= {S{1'b0}};
            out_valid <= 1'b0;
            hold <= 1'b0;
            out_sum <= {S{1'b0}};
        end else begin
            out_valid <= (in_valid && in_last) || hold;
            hold <= in_valid && in_last;
            if (in_valid) begin
                acc <= acc_next;
                if (in_last) out_sum <= acc_next;
            end
        end
    end
endmodule
`default_nettype wire
