//go:build amd64 && !purego

#include "textflag.h"

// func nonPosAVX512(x *float64, n int, tab *[16]float64) int
//
// (consts, fastexp.go, holds nonPosGo's constants in the order read below.)
//
// nonPosGo of x[0:n] in place, eight at a time, with the same IEEE
// operations in the same order as the Go code (no fused multiply-add), so
// the same bits. It stops before the first group of eight that has an
// argument outside (−708, 0] (or NaN), and before a last group shorter than
// eight, and returns the number of entries done.
TEXT ·nonPosAVX512(SB), NOSPLIT, $0-32
	MOVQ         x+0(FP), DI
	MOVQ         n+8(FP), CX
	MOVQ         tab+16(FP), SI
	XORQ         DX, DX
	VBROADCASTSD ·consts+0(SB), Z16
	VBROADCASTSD ·consts+8(SB), Z17
	VBROADCASTSD ·consts+16(SB), Z18
	VBROADCASTSD ·consts+24(SB), Z19
	VBROADCASTSD ·consts+32(SB), Z20
	VBROADCASTSD ·consts+40(SB), Z21
	VBROADCASTSD ·consts+48(SB), Z22
	VBROADCASTSD ·consts+56(SB), Z23
	VBROADCASTSD ·consts+64(SB), Z24
	VBROADCASTSD ·consts+72(SB), Z25
	VBROADCASTSD ·consts+80(SB), Z10
	VBROADCASTSD ·consts+88(SB), Z11
	VPXORQ       Z26, Z26, Z26
	VMOVUPD      0(SI), Z8           // the table 2^{i/16}, in two registers
	VMOVUPD      64(SI), Z9

eloop:
	LEAQ    8(DX), AX
	CMPQ    AX, CX
	JGT     edone
	VMOVUPD (DI)(DX*8), Z0
	VCMPPD  $0x1e, Z25, Z0, K1     // v > -708 (ordered)
	VCMPPD  $0x12, Z26, Z0, K1, K2 // and v <= 0 (ordered)
	KMOVW   K2, AX
	CMPB    AL, $0xff
	JNE     edone
	VMULPD  Z16, Z0, Z1            // kf = v·(16/ln2)
	VADDPD  Z17, Z1, Z1            //      + shift
	VPSUBQ  Z17, Z1, Z2            // k = bits(kf) − bits(shift)
	VSUBPD  Z17, Z1, Z1            // kf −= shift
	VMULPD  Z18, Z1, Z3            // r = (v − kf·ln2hi)
	VSUBPD  Z3, Z0, Z3
	VMULPD  Z19, Z1, Z4            //     − kf·ln2lo
	VSUBPD  Z4, Z3, Z3
	VMULPD  Z3, Z3, Z4             // r2 = r·r
	VADDPD  Z3, Z20, Z5            // 1 + r
	VMULPD  Z22, Z3, Z6            // 1/2 + r·(1/6)
	VADDPD  Z6, Z21, Z6
	VMULPD  Z24, Z3, Z7            // 1/24 + r·(1/120)
	VADDPD  Z7, Z23, Z7
	VMULPD  Z11, Z3, Z1            // 1/720 + r·(1/5040)
	VADDPD  Z1, Z10, Z1
	VMULPD  Z1, Z4, Z1             // r2·(…)
	VADDPD  Z1, Z7, Z7             // (1/24 + …) + r2·(…)
	VMULPD  Z7, Z4, Z7             // r2·(…)
	VADDPD  Z7, Z6, Z6             // (1/2 + …) + r2·(…)
	VMULPD  Z6, Z4, Z6             // r2·(…)
	VADDPD  Z6, Z5, Z5             // p = (1 + r) + r2·(…)
	VPSRAQ  $4, Z2, Z7             // (k>>4)<<52, for the bits
	VPSLLQ  $52, Z7, Z7
	// 2^{(k&15)/16} by one permute of the table's registers (the low four
	// bits of k select), not a gather: the same entry, the same bits.
	VPERMI2PD Z9, Z8, Z2
	VMULPD    Z5, Z2, Z6           // t = table·p
	VPADDQ    Z7, Z6, Z6           // + (k>>4)<<52 on the bits
	VMOVUPD   Z6, (DI)(DX*8)
	ADDQ      $8, DX
	JMP       eloop

edone:
	VZEROUPPER
	MOVQ DX, ret+24(FP)
	RET
