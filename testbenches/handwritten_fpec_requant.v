// A plain behavioural requantizer (FPEC-SPEC.md section 5, 6.2), written by
// hand as a test fixture for the `fpec verify` requant check.
// Combinational: sum[S-1:0] (signed) -> word[NO-1:0].
// Parameters: S input width, K = F_in - FBo (any sign), RELU, output WO, MO,
// ZO, FXP (1: FxP output, no compensation fields), TO zero threshold.
`default_nettype none
module handwritten_fpec_requant #(
    parameter integer S = 16,
    parameter integer K = 4,
    parameter integer RELU = 1,
    parameter integer WO = 4,
    parameter integer MO = 0,
    parameter integer ZO = 1,
    parameter integer FXP = 0,
    parameter integer TO = 8
) (
    input  wire [S-1:0] sum,
    output wire [WO + (FXP ? 0 : ZO + 1 + MO) - 1:0] word
);
    localparam integer CO = FXP ? 0 : ZO + 1 + MO;
    localparam integer KP = K > 0 ? K : 0;
    localparam integer KN = K < 0 ? -K : 0;
    localparam integer X = S + WO + KP + KN + 8;

    wire signed [S-1:0] sv = sum;
    wire signed [S-1:0] s = (RELU != 0 && sv < 0) ? {S{1'b0}} : sv;
    wire signed [X-1:0] sx = {{(X-S){s[S-1]}}, s};
    wire signed [X-1:0] qmax = (64'sd1 <<< (WO - 1)) - 1;
    wire signed [X-1:0] qmin = -(64'sd1 <<< (WO - 1));

    wire signed [X-1:0] q0;
    wire signed [X-1:0] q = (q0 > qmax) ? qmax : ((q0 < qmin) ? qmin : q0);
    wire signed [X-1:0] r;
    generate
        if (K > 0) begin : g_right
            assign q0 = (sx + (64'sd1 <<< (K - 1))) >>> K;
            assign r = sx - (q <<< K);
        end else begin : g_left
            assign q0 = sx <<< KN;
            assign r = q0 - q;
        end
    endgenerate

    wire [X-1:0] mag = r[X-1] ? -r : r;
    wire edb = !r[X-1] && (r != 0);
    wire [X+7:0] mag_w = {8'b0, mag};
    wire [X+7:0] bin = (mag_w << (MO + 1)) >> KP;
    wire [X+7:0] emax = (1 << MO) - 1;
    wire [X+7:0] embv = (bin > emax) ? emax : bin;
    wire [X+7:0] tlim = TO;
    wire [X+7:0] tsh = tlim << KP;
    wire ezb = (mag_w << 6) <= tsh;
    wire [WO-1:0] qo = q[WO-1:0];

    generate
        if (FXP != 0) begin : g_fxp
            assign word = qo;
        end else if (MO == 0 && ZO == 0) begin : g_c1
            assign word = {qo, edb};
        end else if (MO == 0) begin : g_c2
            assign word = {qo, ezb, edb};
        end else if (ZO == 0) begin : g_cm
            assign word = {qo, edb, embv[MO-1:0]};
        end else begin : g_cmz
            assign word = {qo, ezb, edb, embv[MO-1:0]};
        end
    endgenerate
endmodule
`default_nettype wire
