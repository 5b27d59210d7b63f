//go:build amd64 && !purego

#include "textflag.h"

// func keySumsAVX512(cT *float64, tab *float64, gOff *int32, ent *int32, ngrp int)
//
// keySumsGo (exact_kernel_keysums.go) four keys at a time: each key's two
// halves of rowBlock = 16 rows are a chain of additions of its table rows,
// in list order, from its row of cT — eight independent chains, the same
// additions in the same order, so the same bits.
TEXT ·keySumsAVX512(SB), NOSPLIT, $0-40
	MOVQ cT+0(FP), DI
	MOVQ tab+8(FP), SI
	MOVQ gOff+16(FP), R11
	MOVQ ent+24(FP), R9
	MOVQ ngrp+32(FP), R12

kgroup:
	TESTQ   R12, R12
	JZ      kend
	VMOVUPD 0(DI), Z0
	VMOVUPD 64(DI), Z1
	VMOVUPD 128(DI), Z2
	VMOVUPD 192(DI), Z3
	VMOVUPD 256(DI), Z4
	VMOVUPD 320(DI), Z5
	VMOVUPD 384(DI), Z6
	VMOVUPD 448(DI), Z7
	MOVLQSX (R11), AX
	MOVLQSX 4(R11), CX
	SUBQ    AX, CX                   // entry rows of this group of keys
	SHLQ    $4, AX
	LEAQ    (R9)(AX*1), BX
	TESTQ   CX, CX
	JZ      kstore

kloop:
	MOVLQSX 0(BX), AX
	MOVLQSX 4(BX), DX
	MOVLQSX 8(BX), R10
	MOVLQSX 12(BX), R13
	VADDPD  0(SI)(AX*8), Z0, Z0
	VADDPD  64(SI)(AX*8), Z1, Z1
	VADDPD  0(SI)(DX*8), Z2, Z2
	VADDPD  64(SI)(DX*8), Z3, Z3
	VADDPD  0(SI)(R10*8), Z4, Z4
	VADDPD  64(SI)(R10*8), Z5, Z5
	VADDPD  0(SI)(R13*8), Z6, Z6
	VADDPD  64(SI)(R13*8), Z7, Z7
	ADDQ    $16, BX
	DECQ    CX
	JNZ     kloop

kstore:
	VMOVUPD Z0, 0(DI)
	VMOVUPD Z1, 64(DI)
	VMOVUPD Z2, 128(DI)
	VMOVUPD Z3, 192(DI)
	VMOVUPD Z4, 256(DI)
	VMOVUPD Z5, 320(DI)
	VMOVUPD Z6, 384(DI)
	VMOVUPD Z7, 448(DI)
	ADDQ    $512, DI
	ADDQ    $4, R11
	DECQ    R12
	JMP     kgroup

kend:
	VZEROUPPER
	RET
