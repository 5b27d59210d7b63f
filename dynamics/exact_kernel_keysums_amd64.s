//go:build amd64 && !purego

#include "textflag.h"

// CT_KEYS sets AX, DX, R10 and R13 to the byte offsets in cT (q·128) of the
// rows of a group's four keys q, read from gKey at R8. The group's chains
// are Z0–Z7, key m's rows 0–7 in Z(2m) and 8–15 in Z(2m+1).
#define CT_KEYS \
	MOVLQSX 0(R8), AX \
	MOVLQSX 4(R8), DX \
	MOVLQSX 8(R8), R10 \
	MOVLQSX 12(R8), R13 \
	SHLQ    $7, AX \
	SHLQ    $7, DX \
	SHLQ    $7, R10 \
	SHLQ    $7, R13

// func keySumsAVX512(cT *float64, tab *float64, gOff *int32, gKey *int32, ent *uint16, ngrp int)
//
// keySumsGo (exact_kernel_keysums.go) four keys at a time: each key's two
// halves of rowBlock = 16 rows are a chain of additions of its table rows,
// in list order, from its row of cT — eight independent chains, the same
// additions in the same order, so the same bits. An entry row is four
// 16-bit table offsets (in float64s), read by one load.
TEXT ·keySumsAVX512(SB), NOSPLIT, $0-48
	MOVQ cT+0(FP), DI
	MOVQ tab+8(FP), SI
	MOVQ gOff+16(FP), R11
	MOVQ gKey+24(FP), R8
	MOVQ ent+32(FP), R9
	MOVQ ngrp+40(FP), R12

kgroup:
	TESTQ   R12, R12
	JZ      kend
	CT_KEYS
	VMOVUPD 0(DI)(AX*1), Z0
	VMOVUPD 64(DI)(AX*1), Z1
	VMOVUPD 0(DI)(DX*1), Z2
	VMOVUPD 64(DI)(DX*1), Z3
	VMOVUPD 0(DI)(R10*1), Z4
	VMOVUPD 64(DI)(R10*1), Z5
	VMOVUPD 0(DI)(R13*1), Z6
	VMOVUPD 64(DI)(R13*1), Z7
	MOVLQSX (R11), AX
	MOVLQSX 4(R11), CX
	SUBQ    AX, CX                   // entry rows of this group of keys
	LEAQ    (R9)(AX*8), BX
	TESTQ   CX, CX
	JZ      kstore

kloop:
	MOVQ    0(BX), AX
	MOVWQZX AX, DX
	MOVL    AX, R10
	SHRL    $16, R10
	VADDPD  0(SI)(DX*8), Z0, Z0
	VADDPD  64(SI)(DX*8), Z1, Z1
	VADDPD  0(SI)(R10*8), Z2, Z2
	VADDPD  64(SI)(R10*8), Z3, Z3
	SHRQ    $32, AX
	MOVWQZX AX, DX
	SHRL    $16, AX
	VADDPD  0(SI)(DX*8), Z4, Z4
	VADDPD  64(SI)(DX*8), Z5, Z5
	VADDPD  0(SI)(AX*8), Z6, Z6
	VADDPD  64(SI)(AX*8), Z7, Z7
	ADDQ    $8, BX
	DECQ    CX
	JNZ     kloop

kstore:
	CT_KEYS
	VMOVUPD Z0, 0(DI)(AX*1)
	VMOVUPD Z1, 64(DI)(AX*1)
	VMOVUPD Z2, 0(DI)(DX*1)
	VMOVUPD Z3, 64(DI)(DX*1)
	VMOVUPD Z4, 0(DI)(R10*1)
	VMOVUPD Z5, 64(DI)(R10*1)
	VMOVUPD Z6, 0(DI)(R13*1)
	VMOVUPD Z7, 64(DI)(R13*1)
	ADDQ    $16, R8
	ADDQ    $4, R11
	DECQ    R12
	JMP     kgroup

kend:
	VZEROUPPER
	RET
