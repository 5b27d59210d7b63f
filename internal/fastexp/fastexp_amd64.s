//go:build amd64 && !purego

#include "textflag.h"

// func nonPosAVX512(x *float64, n int, tab *[64]float64) int
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
	VPXORQ       Z26, Z26, Z26
	MOVQ         $16, AX
	VPBROADCASTQ AX, Z28             // bit 4 of k
	MOVQ         $32, AX
	VPBROADCASTQ AX, Z29             // bit 5 of k
	VMOVUPD      0(SI), Z8           // the table 2^{i/64}, in eight registers
	VMOVUPD      64(SI), Z9
	VMOVUPD      128(SI), Z10
	VMOVUPD      192(SI), Z11
	VMOVUPD      256(SI), Z12
	VMOVUPD      320(SI), Z13
	VMOVUPD      384(SI), Z14
	VMOVUPD      448(SI), Z15

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
	VMULPD  Z16, Z0, Z1            // kf = v·(64/ln2)
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
	VMULPD  Z7, Z4, Z7             // r2·(…)
	VADDPD  Z7, Z6, Z6             // (1/2 + …) + r2·(…)
	VMULPD  Z6, Z4, Z6             // r2·(…)
	VADDPD  Z6, Z5, Z5             // p = (1 + r) + r2·(…)
	// 2^{(k&63)/64} by permutes of the table's registers (the low four
	// bits of k within sixteen entries, then bits 4 and 5 select), not a
	// gather: the same entry, the same bits.
	VMOVDQA64 Z2, Z1
	VPERMI2PD Z9, Z8, Z1           // entries 0–15
	VMOVDQA64 Z2, Z3
	VPERMI2PD Z11, Z10, Z3         // 16–31
	VMOVDQA64 Z2, Z4
	VPERMI2PD Z13, Z12, Z4         // 32–47
	VMOVDQA64 Z2, Z6
	VPERMI2PD Z15, Z14, Z6         // 48–63
	VPTESTMQ  Z28, Z2, K5          // bit 4
	VMOVAPD   Z3, K5, Z1
	VMOVAPD   Z6, K5, Z4
	VPTESTMQ  Z29, Z2, K5          // bit 5
	VMOVAPD   Z4, K5, Z1
	VMULPD    Z5, Z1, Z6           // t = table·p
	VPSRAQ  $6, Z2, Z2             // + (k>>6)<<52 on the bits
	VPSLLQ  $52, Z2, Z2
	VPADDQ  Z2, Z6, Z6
	VMOVUPD Z6, (DI)(DX*8)
	ADDQ    $8, DX
	JMP     eloop

edone:
	VZEROUPPER
	MOVQ DX, ret+24(FP)
	RET
