//go:build amd64 && !purego

#include "textflag.h"

// Tiles of C = A·B in AVX-512 (gemm.go defines the result): each entry of
// C is the chain acc = fma(a_ik, b_kj, acc) from acc = 0, in increasing k —
// one VFMADD231PD per k and lane, as math.FMA in gemmNNGo. Four rows of A
// (a[0..3], each read from its start) are broadcast one element at a time;
// a row of B is loaded 16 or 8 columns at a time, b advancing by ldb
// elements per k. Row r of the tile is stored at c[r]. Rows may repeat
// (a[r] = a[r−1] and c[r] = c[r−1] for a tile of fewer than four rows: the
// same values are stored twice). k ≥ 1.

// func gemm4x16AVX512(a *[4]*float64, b *float64, ldb int, k int, c *[4]*float64)
TEXT ·gemm4x16AVX512(SB), NOSPLIT, $0-40
	MOVQ a+0(FP), AX
	MOVQ 0(AX), SI
	MOVQ 8(AX), R11
	MOVQ 16(AX), R12
	MOVQ 24(AX), R13
	MOVQ b+8(FP), DI
	MOVQ ldb+16(FP), R9
	SHLQ $3, R9
	MOVQ k+24(FP), CX
	VPXORQ Z0, Z0, Z0
	VPXORQ Z1, Z1, Z1
	VPXORQ Z2, Z2, Z2
	VPXORQ Z3, Z3, Z3
	VPXORQ Z4, Z4, Z4
	VPXORQ Z5, Z5, Z5
	VPXORQ Z6, Z6, Z6
	VPXORQ Z7, Z7, Z7

loop16:
	VMOVUPD      (DI), Z8
	VMOVUPD      64(DI), Z9
	VBROADCASTSD (SI), Z10
	VBROADCASTSD (R11), Z11
	VBROADCASTSD (R12), Z12
	VBROADCASTSD (R13), Z13
	VFMADD231PD  Z8, Z10, Z0
	VFMADD231PD  Z9, Z10, Z1
	VFMADD231PD  Z8, Z11, Z2
	VFMADD231PD  Z9, Z11, Z3
	VFMADD231PD  Z8, Z12, Z4
	VFMADD231PD  Z9, Z12, Z5
	VFMADD231PD  Z8, Z13, Z6
	VFMADD231PD  Z9, Z13, Z7
	ADDQ         $8, SI
	ADDQ         $8, R11
	ADDQ         $8, R12
	ADDQ         $8, R13
	ADDQ         R9, DI
	DECQ         CX
	JNZ          loop16

	MOVQ    c+32(FP), AX
	MOVQ    0(AX), DX
	VMOVUPD Z0, (DX)
	VMOVUPD Z1, 64(DX)
	MOVQ    8(AX), DX
	VMOVUPD Z2, (DX)
	VMOVUPD Z3, 64(DX)
	MOVQ    16(AX), DX
	VMOVUPD Z4, (DX)
	VMOVUPD Z5, 64(DX)
	MOVQ    24(AX), DX
	VMOVUPD Z6, (DX)
	VMOVUPD Z7, 64(DX)
	VZEROUPPER
	RET

// func gemm4x8AVX512(a *[4]*float64, b *float64, ldb int, k int, c *[4]*float64, mask int)
// The columns whose bit is set in mask (low 8 bits) are loaded and stored;
// the others are neither read nor written.
TEXT ·gemm4x8AVX512(SB), NOSPLIT, $0-48
	MOVQ a+0(FP), AX
	MOVQ 0(AX), SI
	MOVQ 8(AX), R11
	MOVQ 16(AX), R12
	MOVQ 24(AX), R13
	MOVQ b+8(FP), DI
	MOVQ ldb+16(FP), R9
	SHLQ $3, R9
	MOVQ k+24(FP), CX
	MOVQ mask+40(FP), BX
	KMOVW BX, K1
	VPXORQ Z0, Z0, Z0
	VPXORQ Z2, Z2, Z2
	VPXORQ Z4, Z4, Z4
	VPXORQ Z6, Z6, Z6
	VPXORQ Z1, Z1, Z1
	VPXORQ Z3, Z3, Z3
	VPXORQ Z5, Z5, Z5
	VPXORQ Z7, Z7, Z7

loop8:
	VMOVUPD.Z    (DI), K1, Z8
	VBROADCASTSD (SI), Z10
	VBROADCASTSD (R11), Z11
	VBROADCASTSD (R12), Z12
	VBROADCASTSD (R13), Z13
	VFMADD231PD  Z8, Z10, Z0
	VFMADD231PD  Z8, Z11, Z2
	VFMADD231PD  Z8, Z12, Z4
	VFMADD231PD  Z8, Z13, Z6
	ADDQ         $8, SI
	ADDQ         $8, R11
	ADDQ         $8, R12
	ADDQ         $8, R13
	ADDQ         R9, DI
	DECQ         CX
	JNZ          loop8

	MOVQ    c+32(FP), AX
	MOVQ    0(AX), DX
	VMOVUPD Z0, K1, (DX)
	MOVQ    8(AX), DX
	VMOVUPD Z2, K1, (DX)
	MOVQ    16(AX), DX
	VMOVUPD Z4, K1, (DX)
	MOVQ    24(AX), DX
	VMOVUPD Z6, K1, (DX)
	VZEROUPPER
	RET
