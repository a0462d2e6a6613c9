// Tiny hierarchical FPEC MAC for the synth/energy tests: 3+2 (W=3, M=0,
// Z=1, G=2), max_len 64, S=15, latency 1, spec 6.1 ports. Block names
// follow the generator's convention (<top>_mul, <top>_comp, <top>_acc).
// Sparse compensation: the comp accumulator is not written when both ezb
// bits are set (unless the pair starts a dot product, which clears it).
`default_nettype none
module tmac_mul (input wire signed [2:0] qw, input wire signed [2:0] qa,
                 output wire signed [5:0] p);
    assign p = qw * qa;
endmodule

module tmac_comp (
    input wire clk, input wire rst, input wire in_valid, input wire in_first,
    input wire [4:0] w, input wire [4:0] a,
    output wire signed [10:0] cnext
);
    wire signed [2:0] qw = w[4:2];
    wire signed [2:0] qa = a[4:2];
    // est = 0 if ezb else (edb ? +1 : -1); term = qw*est(a) + qa*est(w)
    wire signed [3:0] ta = a[1] ? 4'sd0 : (a[0] ? {qw[2], qw} : -{qw[2], qw});
    wire signed [3:0] tw = w[1] ? 4'sd0 : (w[0] ? {qa[2], qa} : -{qa[2], qa});
    wire signed [4:0] term = {ta[3], ta} + {tw[3], tw};
    reg signed [10:0] cacc;
    wire skip = w[1] & a[1];
    wire signed [10:0] base = in_first ? 11'sd0 : cacc;
    assign cnext = base + {{6{term[4]}}, term};
    always @(posedge clk) begin
        if (rst) cacc <= 0;
        else if (in_valid && (!skip || in_first)) cacc <= cnext;
    end
endmodule

module tmac_acc (
    input wire clk, input wire rst, input wire in_valid, input wire in_first,
    input wire signed [5:0] p, output wire signed [11:0] anext
);
    reg signed [11:0] acc;
    assign anext = (in_first ? 12'sd0 : acc) + {{6{p[5]}}, p};
    always @(posedge clk) begin
        if (rst) acc <= 0;
        else if (in_valid) acc <= anext;
    end
endmodule

module tmac (
    input  wire clk, input wire rst, input wire in_valid, input wire in_first,
    input  wire in_last, input wire [4:0] w, input wire [4:0] a,
    output reg out_valid, output reg [14:0] out_sum
);
    wire signed [5:0] p;
    wire signed [10:0] cn;
    wire signed [11:0] an;
    tmac_mul u_mul (.qw(w[4:2]), .qa(a[4:2]), .p(p));
    tmac_comp u_comp (.clk(clk), .rst(rst), .in_valid(in_valid), .in_first(in_first),
                      .w(w), .a(a), .cnext(cn));
    tmac_acc u_acc (.clk(clk), .rst(rst), .in_valid(in_valid), .in_first(in_first),
                    .p(p), .anext(an));
    always @(posedge clk) begin
        if (rst) begin
            out_valid <= 1'b0;
            out_sum <= 0;
        end else begin
            out_valid <= in_valid & in_last;
            if (in_valid & in_last)
                out_sum <= {{1{an[11]}}, an, 2'b00} + {{4{cn[10]}}, cn};
        end
    end
endmodule
`default_nettype wire
