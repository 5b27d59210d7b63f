//go:build amd64 && !purego

#include "textflag.h"

// The lane kernels of the CRN samples in AVX-512 (orbit_crn_lanes_amd64.go):
// see orbit_crn_lanes.go for the definitions. Eight draws per ZMM register;
// the same IEEE operations in the same order as the portable loops, no
// fused multiply-add, so the same bits. Tables are K float64 (counts: K
// float32) wide, K a multiple of 8; no bounds checks (the Go wrappers check
// the lengths).

DATA crnc<>+0(SB)/8, $0x0c06e93f5da2824c // tinySum = 1e-250
DATA crnc<>+8(SB)/8, $0x3ff0000000000000 // 1
DATA crnc<>+16(SB)/8, $0x3fe0000000000000 // 1/2
DATA crnc<>+24(SB)/8, $0x8000000000000000 // sign bit
GLOBL crnc<>(SB), RODATA|NOPTR, $32

// func crnExpArgsAVX512(z *float64, K, N int, a, e *float64)
TEXT ·crnExpArgsAVX512(SB), NOSPLIT, $0-40
	MOVQ         z+0(FP), SI
	MOVQ         K+8(FP), R8
	SHLQ         $3, R8         // a row's bytes
	MOVQ         N+16(FP), R9
	MOVQ         a+24(FP), BX
	MOVQ         e+32(FP), DI
	VBROADCASTSD crnc<>+24(SB), Z31
	XORQ         DX, DX         // the block's byte offset

xblock:
	CMPQ   DX, R8
	JGE    xdone
	VPXORQ Z0, Z0, Z0           // m_A
	MOVQ   DX, R11
	XORQ   R12, R12

x1:
	VBROADCASTSD (BX)(R12*8), Z2
	VMULPD       (SI)(R11*1), Z2, Z1 // z_C·a_C
	VMOVUPD      Z1, (DI)(R11*1)
	VMAXPD       Z1, Z0, Z0     // m_A > v ? m_A : v
	ADDQ         R8, R11
	INCQ         R12
	CMPQ         R12, R9
	JLT          x1
	VPXORQ       Z31, Z0, Z1    // −m_A
	VMOVUPD      Z1, (DI)(R11*1)
	MOVQ         DX, R11
	MOVQ         R9, R12

x2:
	VMOVUPD (DI)(R11*1), Z1
	VSUBPD  Z0, Z1, Z1
	VMOVUPD Z1, (DI)(R11*1)
	ADDQ    R8, R11
	DECQ    R12
	JNZ     x2
	ADDQ    $64, DX
	JMP     xblock

xdone:
	VZEROUPPER
	RET

// func crnClassSumsAVX512(cnt *float32, K int, gb *int, N int, eB *float64, S *float64, keysAll int, nb *float64, masked *float64)
TEXT ·crnClassSumsAVX512(SB), NOSPLIT, $0-72
	MOVQ cnt+0(FP), SI
	MOVQ K+8(FP), R8
	MOVQ gb+16(FP), BX
	MOVQ N+24(FP), R9
	MOVQ eB+32(FP), R10
	MOVQ nb+56(FP), DI
	XORQ R11, R11              // class c

sclass:
	CMPQ R11, R9
	JGE  smasked
	MOVQ (BX)(R11*8), R12      // g0
	MOVQ 8(BX)(R11*8), R13     // g1
	XORQ DX, DX                // draw i

sblock:
	CMPQ   DX, R8
	JGE    snext
	LEAQ   32(DX), AX
	CMPQ   AX, R8
	JGT    sone
	// Four blocks of eight draws: four independent addition chains.
	VPXORQ Z0, Z0, Z0
	VPXORQ Z4, Z4, Z4
	VPXORQ Z5, Z5, Z5
	VPXORQ Z6, Z6, Z6
	MOVQ   R12, AX             // g

s4group:
	CMPQ         AX, R13
	JGE          s4store
	MOVQ         AX, CX        // &cnt[g·K + i]
	IMULQ        R8, CX
	ADDQ         DX, CX
	VBROADCASTSD (R10)(AX*8), Z2
	VCVTPS2PD    (SI)(CX*4), Z1
	VCVTPS2PD    32(SI)(CX*4), Z7
	VCVTPS2PD    64(SI)(CX*4), Z8
	VCVTPS2PD    96(SI)(CX*4), Z9
	VMULPD       Z2, Z1, Z1
	VMULPD       Z2, Z7, Z7
	VMULPD       Z2, Z8, Z8
	VMULPD       Z2, Z9, Z9
	VADDPD       Z1, Z0, Z0
	VADDPD       Z7, Z4, Z4
	VADDPD       Z8, Z5, Z5
	VADDPD       Z9, Z6, Z6
	INCQ         AX
	JMP          s4group

s4store:
	MOVQ    R11, CX            // &nb[c·K + i]
	IMULQ   R8, CX
	ADDQ    DX, CX
	VMOVUPD Z0, (DI)(CX*8)
	VMOVUPD Z4, 64(DI)(CX*8)
	VMOVUPD Z5, 128(DI)(CX*8)
	VMOVUPD Z6, 192(DI)(CX*8)
	ADDQ    $32, DX
	JMP     sblock

sone:
	VPXORQ Z0, Z0, Z0
	MOVQ   R12, AX             // g

sgroup:
	CMPQ         AX, R13
	JGE          sstore
	MOVQ         AX, CX        // &cnt[g·K + i]
	IMULQ        R8, CX
	ADDQ         DX, CX
	VCVTPS2PD    (SI)(CX*4), Z1
	VBROADCASTSD (R10)(AX*8), Z2
	VMULPD       Z2, Z1, Z1
	VADDPD       Z1, Z0, Z0
	INCQ         AX
	JMP          sgroup

sstore:
	MOVQ    R11, CX            // &nb[c·K + i]
	IMULQ   R8, CX
	ADDQ    DX, CX
	VMOVUPD Z0, (DI)(CX*8)
	ADDQ    $8, DX
	JMP     sblock

snext:
	INCQ R11
	JMP  sclass

smasked:
	MOVQ keysAll+48(FP), AX
	TESTQ AX, AX
	JZ   sdone
	MOVQ S+40(FP), R14
	MOVQ masked+64(FP), DI
	MOVQ (BX)(R9*8), R13       // G = gb[N]
	XORQ DX, DX

mblock:
	CMPQ   DX, R8
	JGE    sdone
	VPXORQ Z0, Z0, Z0
	XORQ   AX, AX

mgroup:
	CMPQ         AX, R13
	JGE          mstore
	MOVQ         AX, CX
	IMULQ        R8, CX
	ADDQ         DX, CX
	VCVTPS2PD    (SI)(CX*4), Z1
	VBROADCASTSD (R14)(AX*8), Z3
	VSUBPD       Z1, Z3, Z1    // S_g − n_g
	VBROADCASTSD (R10)(AX*8), Z2
	VMULPD       Z2, Z1, Z1
	VADDPD       Z1, Z0, Z0
	INCQ         AX
	JMP          mgroup

mstore:
	VMOVUPD Z0, (DI)(DX*8)
	ADDQ    $8, DX
	JMP     mblock

sdone:
	VZEROUPPER
	RET

// func crnGroupAccAVX512(cnt *float32, K int, gcls *int, G int, X *float64, y *float64, S *float64, keysAll int, accN *float64, accNy *float64, accY *float64)
TEXT ·crnGroupAccAVX512(SB), NOSPLIT, $0-88
	MOVQ cnt+0(FP), SI
	MOVQ K+8(FP), R8
	MOVQ gcls+16(FP), BX
	MOVQ G+24(FP), R9
	MOVQ X+32(FP), R10
	MOVQ y+40(FP), R11
	MOVQ S+48(FP), R14
	MOVQ keysAll+56(FP), R15
	MOVQ accN+64(FP), DI
	MOVQ accNy+72(FP), R13
	XORQ R12, R12              // group g

ggroup:
	CMPQ    R12, R9
	JGE     gy
	MOVQ    R12, AX            // &accN[g·8]
	SHLQ    $6, AX
	VMOVUPD (DI)(AX*1), Z0
	VMOVUPD (R13)(AX*1), Z4
	MOVQ    (BX)(R12*8), CX    // &X[c·K]
	IMULQ   R8, CX
	LEAQ    (R10)(CX*8), CX
	MOVQ    R12, AX            // &cnt[g·K]
	IMULQ   R8, AX
	LEAQ    (SI)(AX*4), AX
	VBROADCASTSD (R14)(R12*8), Z3
	XORQ    DX, DX

gblock:
	CMPQ      DX, R8
	JGE       gstore
	VCVTPS2PD (AX)(DX*4), Z1
	VMULPD    (CX)(DX*8), Z1, Z2
	VADDPD    Z2, Z0, Z0
	TESTQ     R15, R15
	JZ        gnext
	VSUBPD    Z1, Z3, Z1       // (S_g − n_g)·Y
	VMULPD    (R11)(DX*8), Z1, Z1
	VADDPD    Z1, Z4, Z4

gnext:
	ADDQ $8, DX
	JMP  gblock

gstore:
	MOVQ    R12, AX
	SHLQ    $6, AX
	VMOVUPD Z0, (DI)(AX*1)
	VMOVUPD Z4, (R13)(AX*1)
	INCQ    R12
	JMP     ggroup

gy:
	MOVQ    accY+80(FP), DI
	VMOVUPD (DI), Z0
	XORQ    DX, DX

gyblock:
	CMPQ   DX, R8
	JGE    gydone
	VADDPD (R11)(DX*8), Z0, Z0
	ADDQ   $8, DX
	JMP    gyblock

gydone:
	VMOVUPD Z0, (DI)
	VZEROUPPER
	RET

// func crnLaneSumAVX512(src *float64, K int, rows int, acc *float64)
TEXT ·crnLaneSumAVX512(SB), NOSPLIT, $0-32
	MOVQ src+0(FP), SI
	MOVQ K+8(FP), R8
	MOVQ rows+16(FP), R9
	MOVQ acc+24(FP), DI

lrow:
	TESTQ   R9, R9
	JZ      ldone
	VMOVUPD (DI), Z0
	XORQ    DX, DX

lblock:
	CMPQ   DX, R8
	JGE    lstore
	VADDPD (SI)(DX*8), Z0, Z0
	ADDQ   $8, DX
	JMP    lblock

lstore:
	VMOVUPD Z0, (DI)
	LEAQ    (SI)(R8*8), SI
	ADDQ    $64, DI
	DECQ    R9
	JMP     lrow

ldone:
	VZEROUPPER
	RET

// crnWorkArgs offsets (orbit_crn_lanes_amd64.go).
#define A_E 0
#define A_Z 8
#define A_NB 16
#define A_MASKED 24
#define A_T 32
#define A_ACC 40
#define A_X 48
#define A_Y 56
#define A_LOSS 64
#define A_ZS 72
#define A_K 80
#define A_N 88
#define A_KEYSALL 96
#define A_GRAD 104
#define A_ESELF 112
#define A_WT 120

// func crnClassWorkAVX512(a *crnWorkArgs) int
//
// Registers: BX the arguments, DX the byte offset of the block of eight
// draws, R8 K·8 (a row's bytes), R9 N, R10 the bad-draw count; per class
// R11 (row offset c·K·8 + DX), R12 (T row), R13 (acc row), R14 the class
// count down. Z20 tinySum, Z21 1, Z22 1/2, Z23 eSelf, Z24 wt.
TEXT ·crnClassWorkAVX512(SB), NOSPLIT, $0-16
	MOVQ         a+0(FP), BX
	MOVQ         A_K(BX), R8
	SHLQ         $3, R8
	MOVQ         A_N(BX), R9
	XORQ         R10, R10
	XORQ         DX, DX
	VBROADCASTSD crnc<>+0(SB), Z20
	VBROADCASTSD crnc<>+8(SB), Z21
	VBROADCASTSD crnc<>+16(SB), Z22
	VBROADCASTSD A_ESELF(BX), Z23
	VBROADCASTSD A_WT(BX), Z24

wblock:
	CMPQ DX, R8
	JGE  wdone
	// Pass 1: T_C = e_C·nb_C, Z = Σ T_C (+ e^{−m_A}(masked + eSelf)).
	MOVQ   A_E(BX), SI
	MOVQ   A_NB(BX), DI
	MOVQ   A_T(BX), R12
	MOVQ   DX, R11
	MOVQ   R9, R14
	VPXORQ Z0, Z0, Z0

w1:
	VMOVUPD (SI)(R11*1), Z1
	VMULPD  (DI)(R11*1), Z1, Z1
	VMOVUPD Z1, (R12)
	VADDPD  Z1, Z0, Z0
	ADDQ    R8, R11
	ADDQ    $64, R12
	DECQ    R14
	JNZ     w1
	MOVQ    A_KEYSALL(BX), AX
	TESTQ   AX, AX
	JZ      wz
	MOVQ    A_MASKED(BX), AX
	VMOVUPD (AX)(DX*1), Z1
	VADDPD  Z23, Z1, Z1
	VMULPD  (SI)(R11*1), Z1, Z1 // R11 is now row N: e^{−m_A}
	VADDPD  Z1, Z0, Z0

wz:
	MOVQ    A_ZS(BX), AX
	VMOVUPD Z0, (AX)(DX*1)
	VCMPPD  $0x1d, Z20, Z0, K1  // Z ≥ tinySum (ordered)
	KMOVW   K1, AX
	POPCNTL AX, AX
	ADDQ    $8, R10
	SUBQ    AX, R10
	VDIVPD  Z0, Z21, Z25        // inv = 1/Z
	// Pass 2: t_C = T_C/Z, sumQ = Σ (z_C² t_C) t_C.
	MOVQ   A_Z(BX), SI
	MOVQ   A_T(BX), R12
	MOVQ   DX, R11
	MOVQ   R9, R14
	VPXORQ Z26, Z26, Z26

w2:
	VMULPD  (R12), Z25, Z1
	VMOVUPD Z1, (R12)
	VMOVUPD (SI)(R11*1), Z2
	VMULPD  Z2, Z2, Z2
	VMULPD  Z1, Z2, Z2
	VMULPD  Z1, Z2, Z2
	VADDPD  Z2, Z26, Z26
	ADDQ    R8, R11
	ADDQ    $64, R12
	DECQ    R14
	JNZ     w2
	// za2 = z_a², zt = za2·t_a, r̄ = sumQ − zt,
	// ℓ = (sumQ/2 − zt) + za2/2.
	MOVQ    A_T(BX), R12
	VMOVUPD (SI)(DX*1), Z27
	VMULPD  Z27, Z27, Z27       // za2
	VMULPD  (R12), Z27, Z28     // zt
	VSUBPD  Z28, Z26, Z29       // rbar
	VMULPD  Z22, Z26, Z1
	VSUBPD  Z28, Z1, Z1
	VMULPD  Z22, Z27, Z2
	VADDPD  Z2, Z1, Z1
	MOVQ    A_LOSS(BX), AX
	VMOVUPD Z1, (AX)(DX*1)
	MOVQ    A_GRAD(BX), AX
	TESTQ   AX, AX
	JZ      wnext
	// Pass 3, per class: q = z_C² t_C, a = q t_C (− zt), v = q (− za2),
	// a −= r̄ t_C, v −= r̄; acc_C += (wt z_C) a where Z ≥ tinySum;
	// X_C = ((wt e_C)/Z) v. The own class (0) first.
	MOVQ    A_E(BX), DI
	MOVQ    A_ACC(BX), R13
	MOVQ    A_X(BX), R15
	MOVQ    DX, R11
	MOVQ    R9, R14
	XORQ    CX, CX              // 1 after the own class

w3:
	VMOVUPD (SI)(R11*1), Z2     // z_C
	VMOVUPD (R12), Z1           // t_C
	VMULPD  Z2, Z2, Z3
	VMULPD  Z1, Z3, Z3          // q
	VMULPD  Z1, Z3, Z4          // a
	TESTQ   CX, CX
	JNZ     w3off
	VSUBPD  Z28, Z4, Z4
	VSUBPD  Z27, Z3, Z3

w3off:
	VMULPD  Z29, Z1, Z5
	VSUBPD  Z5, Z4, Z4
	VSUBPD  Z29, Z3, Z3
	VMULPD  Z2, Z24, Z5         // wt·z_C
	VMULPD  Z4, Z5, Z5
	VMOVUPD (R13), Z6
	VADDPD  Z5, Z6, K1, Z6
	VMOVUPD Z6, (R13)
	VMULPD  (DI)(R11*1), Z24, Z5 // wt·e_C
	VMULPD  Z25, Z5, Z5
	VMULPD  Z3, Z5, Z5
	VMOVUPD Z5, (R15)(R11*1)
	MOVQ    $1, CX
	ADDQ    R8, R11
	ADDQ    $64, R12
	ADDQ    $64, R13
	DECQ    R14
	JNZ     w3
	// Y = ((wt e^{−m_A})/Z) r̄ (R11 is now row N of e).
	VMULPD  (DI)(R11*1), Z24, Z5
	VMULPD  Z25, Z5, Z5
	VMULPD  Z29, Z5, Z5
	MOVQ    A_Y(BX), AX
	VMOVUPD Z5, (AX)(DX*1)

wnext:
	ADDQ $64, DX
	JMP  wblock

wdone:
	VZEROUPPER
	MOVQ R10, ret+8(FP)
	RET

// func ctrlMomentsAVX512(ex, pre *float64, N, nz int, mom *[11]float64)
//
// ctrlMomentsGo: per class, the eleven moments as eight lanes (Z0) and
// three (Z1, under the mask K2 = 0b111, which also keeps the loads of the
// last entry within the table), each summed from +0 over the z nodes in
// order, a product then an add.
TEXT ·ctrlMomentsAVX512(SB), NOSPLIT, $0-40
	MOVQ  ex+0(FP), SI
	MOVQ  pre+8(FP), BX
	MOVQ  N+16(FP), R9
	MOVQ  nz+24(FP), R10
	MOVQ  mom+32(FP), DI
	MOVQ  $7, AX
	KMOVW AX, K2

mclass:
	VPXORQ Z0, Z0, Z0
	VPXORQ Z1, Z1, Z1
	MOVQ   R10, CX

mnode:
	VBROADCASTSD (SI), Z2
	VMULPD       (BX), Z2, Z3
	VADDPD       Z3, Z0, Z0
	VMOVUPD.Z    64(BX), K2, Z4
	VMULPD       Z4, Z2, Z4
	VADDPD       Z4, Z1, K2, Z1
	ADDQ         $8, SI
	ADDQ         $88, BX
	DECQ         CX
	JNZ          mnode
	VMOVUPD      Z0, (DI)
	VMOVUPD      Z1, K2, 64(DI)
	ADDQ         $88, DI
	DECQ         R9
	JNZ          mclass
	VZEROUPPER
	RET
