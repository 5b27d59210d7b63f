//go:build amd64 && !purego

#include "textflag.h"

// The row loops of the exact kernel in AVX2 and AVX-512 (used when the CPU
// has them, exact_kernel_rows_amd64.go): see exact_kernel_rows.go for the definition.
// A key's rowBlock = 16 transposed entries are 128 bytes at byte offset
// q·128, four YMM registers. The gather keeps two sets of sums, over the
// keys at even and at odd positions of kp (two independent addition chains),
// each in key order from +0, and returns even + odd, exactly as
// gatherRowsGo does; the scatter adds c to each key's entries. Both give the
// bits of the portable loops.

// func gatherRowsAVX2(ebT *float64, kp *int32, nk int, out *[16]float64)
TEXT ·gatherRowsAVX2(SB), NOSPLIT, $0-32
	MOVQ ebT+0(FP), SI
	MOVQ kp+8(FP), BX
	MOVQ nk+16(FP), CX
	MOVQ out+24(FP), DI
	VXORPD Y0, Y0, Y0
	VXORPD Y1, Y1, Y1
	VXORPD Y2, Y2, Y2
	VXORPD Y3, Y3, Y3
	VXORPD Y4, Y4, Y4
	VXORPD Y5, Y5, Y5
	VXORPD Y6, Y6, Y6
	VXORPD Y7, Y7, Y7
	CMPQ   CX, $2
	JLT    gtail

gpair:
	MOVLQSX (BX), AX
	MOVLQSX 4(BX), DX
	SHLQ    $7, AX
	SHLQ    $7, DX
	ADDQ    SI, AX
	ADDQ    SI, DX
	VADDPD  0(AX), Y0, Y0
	VADDPD  32(AX), Y1, Y1
	VADDPD  64(AX), Y2, Y2
	VADDPD  96(AX), Y3, Y3
	VADDPD  0(DX), Y4, Y4
	VADDPD  32(DX), Y5, Y5
	VADDPD  64(DX), Y6, Y6
	VADDPD  96(DX), Y7, Y7
	ADDQ    $8, BX
	SUBQ    $2, CX
	CMPQ    CX, $2
	JGE     gpair

gtail:
	TESTQ   CX, CX
	JZ      gdone
	MOVLQSX (BX), AX
	SHLQ    $7, AX
	ADDQ    SI, AX
	VADDPD  0(AX), Y0, Y0
	VADDPD  32(AX), Y1, Y1
	VADDPD  64(AX), Y2, Y2
	VADDPD  96(AX), Y3, Y3

gdone:
	VADDPD  Y4, Y0, Y0
	VADDPD  Y5, Y1, Y1
	VADDPD  Y6, Y2, Y2
	VADDPD  Y7, Y3, Y3
	VMOVUPD Y0, 0(DI)
	VMOVUPD Y1, 32(DI)
	VMOVUPD Y2, 64(DI)
	VMOVUPD Y3, 96(DI)
	VZEROUPPER
	RET

// func scatterRowsAVX2(cT *float64, kp *int32, nk int, c *[16]float64)
TEXT ·scatterRowsAVX2(SB), NOSPLIT, $0-32
	MOVQ cT+0(FP), SI
	MOVQ kp+8(FP), BX
	MOVQ nk+16(FP), CX
	MOVQ c+24(FP), DI
	TESTQ CX, CX
	JZ    sdone
	VMOVUPD 0(DI), Y0
	VMOVUPD 32(DI), Y1
	VMOVUPD 64(DI), Y2
	VMOVUPD 96(DI), Y3

sloop:
	MOVLQSX (BX), AX
	SHLQ    $7, AX
	ADDQ    SI, AX
	VADDPD  0(AX), Y0, Y4
	VADDPD  32(AX), Y1, Y5
	VADDPD  64(AX), Y2, Y6
	VADDPD  96(AX), Y3, Y7
	VMOVUPD Y4, 0(AX)
	VMOVUPD Y5, 32(AX)
	VMOVUPD Y6, 64(AX)
	VMOVUPD Y7, 96(AX)
	ADDQ    $4, BX
	DECQ    CX
	JNZ     sloop
	VZEROUPPER

sdone:
	RET

// The same loops in AVX-512 (two ZMM registers per key), preferred when the
// CPU has AVX-512F: same operations in the same order, same bits.

// func gatherRowsAVX512(ebT *float64, kp *int32, nk int, out *[16]float64)
TEXT ·gatherRowsAVX512(SB), NOSPLIT, $0-32
	MOVQ   ebT+0(FP), SI
	MOVQ   kp+8(FP), BX
	MOVQ   nk+16(FP), CX
	MOVQ   out+24(FP), DI
	VPXORQ Z0, Z0, Z0
	VPXORQ Z1, Z1, Z1
	VPXORQ Z2, Z2, Z2
	VPXORQ Z3, Z3, Z3
	CMPQ   CX, $2
	JLT    htail

hpair:
	MOVLQSX (BX), AX
	MOVLQSX 4(BX), DX
	SHLQ    $7, AX
	SHLQ    $7, DX
	ADDQ    SI, AX
	ADDQ    SI, DX
	VADDPD  0(AX), Z0, Z0
	VADDPD  64(AX), Z1, Z1
	VADDPD  0(DX), Z2, Z2
	VADDPD  64(DX), Z3, Z3
	ADDQ    $8, BX
	SUBQ    $2, CX
	CMPQ    CX, $2
	JGE     hpair

htail:
	TESTQ   CX, CX
	JZ      hdone
	MOVLQSX (BX), AX
	SHLQ    $7, AX
	ADDQ    SI, AX
	VADDPD  0(AX), Z0, Z0
	VADDPD  64(AX), Z1, Z1

hdone:
	VADDPD  Z2, Z0, Z0
	VADDPD  Z3, Z1, Z1
	VMOVUPD Z0, 0(DI)
	VMOVUPD Z1, 64(DI)
	VZEROUPPER
	RET

// func scatterRowsAVX512(cT *float64, kp *int32, nk int, c *[16]float64)
TEXT ·scatterRowsAVX512(SB), NOSPLIT, $0-32
	MOVQ    cT+0(FP), SI
	MOVQ    kp+8(FP), BX
	MOVQ    nk+16(FP), CX
	MOVQ    c+24(FP), DI
	TESTQ   CX, CX
	JZ      tdone
	VMOVUPD 0(DI), Z0
	VMOVUPD 64(DI), Z1

tloop:
	MOVLQSX (BX), AX
	SHLQ    $7, AX
	ADDQ    SI, AX
	VADDPD  0(AX), Z0, Z4
	VADDPD  64(AX), Z1, Z5
	VMOVUPD Z4, 0(AX)
	VMOVUPD Z5, 64(AX)
	ADDQ    $4, BX
	DECQ    CX
	JNZ     tloop
	VZEROUPPER

tdone:
	RET

// MAXNAN takes the lane maxima of z into acc and marks in K1 the lanes
// where z is NaN (K2 is scratch).
#define MAXNAN(z, acc) \
	VCMPPD $3, z, z, K2 \
	KORW   K2, K1, K1 \
	VMAXPD z, acc, acc

DATA rmconst<>+0(SB)/8, $0xfff0000000000000 // −∞
GLOBL rmconst<>(SB), RODATA|NOPTR, $8

// func rowMaxAVX512(x *float64, n int) (m float64, special bool)
//
// n ≥ 8. The maximum of −∞ and x[0:n] by VMAXPD in four chains (the last
// n mod 8 elements by a load merged into −∞); special reports a NaN among
// them, where VMAXPD's result is not Go's (rowMax then asks rowMaxGo).
TEXT ·rowMaxAVX512(SB), NOSPLIT, $0-25
	MOVQ         x+0(FP), SI
	MOVQ         n+8(FP), CX
	VBROADCASTSD rmconst<>+0(SB), Z0
	VMOVAPD      Z0, Z1
	VMOVAPD      Z0, Z2
	VMOVAPD      Z0, Z3
	VMOVAPD      Z0, Z8              // −∞, kept for the tail
	KXORW        K1, K1, K1          // lanes that met a NaN

rm32:
	CMPQ     CX, $32
	JLT      rm8
	VMOVUPD  0(SI), Z4
	VMOVUPD  64(SI), Z5
	VMOVUPD  128(SI), Z6
	VMOVUPD  192(SI), Z7
	MAXNAN(Z4, Z0)
	MAXNAN(Z5, Z1)
	MAXNAN(Z6, Z2)
	MAXNAN(Z7, Z3)
	ADDQ     $256, SI
	SUBQ     $32, CX
	JMP      rm32

rm8:
	CMPQ     CX, $8
	JLT      rmtail
	VMOVUPD  0(SI), Z4
	MAXNAN(Z4, Z0)
	ADDQ     $64, SI
	SUBQ     $8, CX
	JMP      rm8

rmtail:
	TESTQ    CX, CX
	JZ       rmreduce
	MOVL     $1, AX
	SHLL     CX, AX
	DECL     AX
	KMOVW    AX, K3
	VMOVAPD  Z8, Z4
	VMOVUPD  (SI), K3, Z4            // the last n mod 8 elements, −∞ beyond
	MAXNAN(Z4, Z0)

rmreduce:
	VMAXPD        Z1, Z0, Z0
	VMAXPD        Z3, Z2, Z2
	VMAXPD        Z2, Z0, Z0
	VEXTRACTF64X4 $1, Z0, Y1
	VMAXPD        Y1, Y0, Y0
	VEXTRACTF128  $1, Y0, X1
	VMAXPD        X1, X0, X0
	VPERMILPD     $1, X0, X1
	VMAXSD        X1, X0, X0
	VMOVSD        X0, m+16(FP)
	KORTESTW      K1, K1
	SETNE         special+24(FP)
	VZEROUPPER
	RET

// TRANSPOSE8 transposes the 8×8 block of doubles in Z0–Z7 (row r in Zr)
// into Z16–Z23 (column j in Z(16+j)), using Z8–Z15: unpacks of row pairs,
// then two rounds of 128-bit lane shuffles (imm 0x88: lanes 0 and 2 of
// each source, 0xDD: lanes 1 and 3).
#define TRANSPOSE8 \
	VUNPCKLPD  Z1, Z0, Z8 \
	VUNPCKHPD  Z1, Z0, Z9 \
	VUNPCKLPD  Z3, Z2, Z10 \
	VUNPCKHPD  Z3, Z2, Z11 \
	VUNPCKLPD  Z5, Z4, Z12 \
	VUNPCKHPD  Z5, Z4, Z13 \
	VUNPCKLPD  Z7, Z6, Z14 \
	VUNPCKHPD  Z7, Z6, Z15 \
	VSHUFF64X2 $0x88, Z10, Z8, Z0 \
	VSHUFF64X2 $0x88, Z11, Z9, Z1 \
	VSHUFF64X2 $0xDD, Z10, Z8, Z2 \
	VSHUFF64X2 $0xDD, Z11, Z9, Z3 \
	VSHUFF64X2 $0x88, Z14, Z12, Z4 \
	VSHUFF64X2 $0x88, Z15, Z13, Z5 \
	VSHUFF64X2 $0xDD, Z14, Z12, Z6 \
	VSHUFF64X2 $0xDD, Z15, Z13, Z7 \
	VSHUFF64X2 $0x88, Z4, Z0, Z16 \
	VSHUFF64X2 $0x88, Z5, Z1, Z17 \
	VSHUFF64X2 $0x88, Z6, Z2, Z18 \
	VSHUFF64X2 $0x88, Z7, Z3, Z19 \
	VSHUFF64X2 $0xDD, Z4, Z0, Z20 \
	VSHUFF64X2 $0xDD, Z5, Z1, Z21 \
	VSHUFF64X2 $0xDD, Z6, Z2, Z22 \
	VSHUFF64X2 $0xDD, Z7, Z3, Z23

// func transposeIn8AVX512(dst *float64, src *float64, P int, ng int)
//
// For each group g < ng of eight columns: rows r < 8 of src (P apart),
// columns 8g…8g+7, into dst[(8g + j)·16 + r] (transposeInGo's columns).
TEXT ·transposeIn8AVX512(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ P+16(FP), DX
	SHLQ $3, DX                      // a row's bytes
	MOVQ ng+24(FP), CX

tigroup:
	MOVQ    SI, AX
	VMOVUPD (AX), Z0
	ADDQ    DX, AX
	VMOVUPD (AX), Z1
	ADDQ    DX, AX
	VMOVUPD (AX), Z2
	ADDQ    DX, AX
	VMOVUPD (AX), Z3
	ADDQ    DX, AX
	VMOVUPD (AX), Z4
	ADDQ    DX, AX
	VMOVUPD (AX), Z5
	ADDQ    DX, AX
	VMOVUPD (AX), Z6
	ADDQ    DX, AX
	VMOVUPD (AX), Z7
	TRANSPOSE8
	VMOVUPD Z16, 0(DI)
	VMOVUPD Z17, 128(DI)
	VMOVUPD Z18, 256(DI)
	VMOVUPD Z19, 384(DI)
	VMOVUPD Z20, 512(DI)
	VMOVUPD Z21, 640(DI)
	VMOVUPD Z22, 768(DI)
	VMOVUPD Z23, 896(DI)
	ADDQ    $64, SI
	ADDQ    $1024, DI
	DECQ    CX
	JNZ     tigroup
	VZEROUPPER
	RET

// MULCOL loads into z the product of the ebT and cT entries at off (eight
// rows of one column); STOREROW stores z at the current group's offset DX
// of the row whose pointer is at ptr(BX).
#define MULCOL(off, z) \
	VMOVUPD off(SI), z \
	VMULPD  off(DI), z, z

#define STOREROW(ptr, z) \
	MOVQ    ptr(BX), AX \
	VMOVUPD z, (AX)(DX*1)

// func productOut8AVX512(rows *[8]*float64, ebT *float64, cT *float64, ng int)
//
// For each group g < ng of eight columns q = 8g…8g+7: the products
// ebT[q·16 + r]·cT[q·16 + r] of rows r < 8, transposed, into
// rows[r][8g…8g+7] (productOutGo's values).
TEXT ·productOut8AVX512(SB), NOSPLIT, $0-32
	MOVQ rows+0(FP), BX
	MOVQ ebT+8(FP), SI
	MOVQ cT+16(FP), DI
	MOVQ ng+24(FP), CX
	XORQ DX, DX                      // the group's byte offset in a row

pogroup:
	MULCOL(0, Z0)
	MULCOL(128, Z1)
	MULCOL(256, Z2)
	MULCOL(384, Z3)
	MULCOL(512, Z4)
	MULCOL(640, Z5)
	MULCOL(768, Z6)
	MULCOL(896, Z7)
	TRANSPOSE8
	STOREROW(0, Z16)
	STOREROW(8, Z17)
	STOREROW(16, Z18)
	STOREROW(24, Z19)
	STOREROW(32, Z20)
	STOREROW(40, Z21)
	STOREROW(48, Z22)
	STOREROW(56, Z23)
	ADDQ    $1024, SI
	ADDQ    $1024, DI
	ADDQ    $64, DX
	DECQ    CX
	JNZ     pogroup
	VZEROUPPER
	RET

// func updateRowAVX512(x, grad *float64, n int, eta float64) float64
//
// x[i] = x[i] − η·grad[i] for i < n, eight at a time, the last n mod 8 by
// masked loads and stores; returns the sum of 0·x over the new x (NaN
// exactly when one is not finite).
TEXT ·updateRowAVX512(SB), NOSPLIT, $0-40
	MOVQ         x+0(FP), DI
	MOVQ         grad+8(FP), SI
	MOVQ         n+16(FP), CX
	VBROADCASTSD eta+24(FP), Z1
	VXORPD       Z2, Z2, Z2          // Σ 0·x
	VXORPD       Z3, Z3, Z3          // 0

ur8:
	CMPQ    CX, $8
	JLT     urtail
	VMULPD  (SI), Z1, Z4             // η·g
	VMOVUPD (DI), Z5
	VSUBPD  Z4, Z5, Z5               // x − η·g
	VMOVUPD Z5, (DI)
	VMULPD  Z3, Z5, Z6
	VADDPD  Z6, Z2, Z2
	ADDQ    $64, SI
	ADDQ    $64, DI
	SUBQ    $8, CX
	JMP     ur8

urtail:
	TESTQ     CX, CX
	JZ        urreduce
	MOVL      $1, AX
	SHLL      CX, AX
	DECL      AX
	KMOVW     AX, K1
	VMOVUPD.Z (SI), K1, Z4
	VMULPD    Z1, Z4, Z4
	VMOVUPD.Z (DI), K1, Z5
	VSUBPD    Z4, Z5, Z5
	VMOVUPD   Z5, K1, (DI)
	VMULPD    Z3, Z5, Z6             // 0 in the lanes past n
	VADDPD    Z6, Z2, Z2

urreduce:
	VEXTRACTF64X4 $1, Z2, Y3
	VADDPD        Y3, Y2, Y2
	VEXTRACTF128  $1, Y2, X3
	VADDPD        X3, X2, X2
	VPERMILPD     $1, X2, X3
	VADDSD        X3, X2, X2
	VMOVSD        X2, ret+32(FP)
	VZEROUPPER
	RET

// func subRowAVX512(dst, src *float64, n int, m float64)
//
// dst[i] = src[i] − m for i < n, eight at a time, the last n mod 8 by
// masked loads and stores (one subtraction per entry, as subRowGo).
TEXT ·subRowAVX512(SB), NOSPLIT, $0-32
	MOVQ         dst+0(FP), DI
	MOVQ         src+8(FP), SI
	MOVQ         n+16(FP), CX
	VBROADCASTSD m+24(FP), Z1

sr8:
	CMPQ    CX, $8
	JLT     srtail
	VMOVUPD (SI), Z0
	VSUBPD  Z1, Z0, Z0
	VMOVUPD Z0, (DI)
	ADDQ    $64, SI
	ADDQ    $64, DI
	SUBQ    $8, CX
	JMP     sr8

srtail:
	TESTQ     CX, CX
	JZ        srdone
	MOVL      $1, AX
	SHLL      CX, AX
	DECL      AX
	KMOVW     AX, K1
	VMOVUPD.Z (SI), K1, Z0
	VSUBPD    Z1, Z0, Z0
	VMOVUPD   Z0, K1, (DI)

srdone:
	VZEROUPPER
	RET
