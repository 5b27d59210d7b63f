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
