//go:build amd64 && !purego

#include "textflag.h"

// The per-query work of the exact kernel across the rows of a block in
// AVX-512 (exact_kernel_vec.go): queryExps, the exponential and blockCoefs of
// a term's queries in one row block, eight rows per vector (two halves of
// rowBlock = 16 rows; a half without queries is skipped), each lane doing
// the operations of the Go code for its row's query in the same order,
// without fused multiply-adds: the same bits. Tables are [j·16 + r] for key
// group j and row r (128 bytes per group). Each key group's sum of e^B over
// its keys (gatherGroups' T_j) is taken in the loop of exponentials, group
// by group, for the rows the routine needs (GROUP_T, GROUP_TH).

// The kernel's own constants; the exponential's come from internal/fastexp
// (vecArgs.exp = fastexp.Consts(): 16/ln2, shift, ln2hi/16, ln2lo/16, 1,
// 1/2, 1/6, 1/24, 1/120, −708, 1/720, 1/5040 at offsets 0, 8, …, 88).
DATA qc<>+0(SB)/8, $0xfff0000000000000   // −∞
DATA qc<>+8(SB)/8, $0x0c06e93f5da2824c   // tinySum = 1e-250
GLOBL qc<>(SB), RODATA|NOPTR, $16

// vecArgs offsets (exact_kernel_vec_amd64.go).
#define V_AT 0
#define V_Z 8
#define V_EAT 16
#define V_ST 24
#define V_RRT 32
#define V_CG 40
#define V_GAT 48
#define V_QL 56
#define V_AREA 64
#define V_HAS 72
#define V_N 80
#define V_NG 88
#define V_MASK 96
#define V_W 104
#define V_TAB 112
#define V_EXP 120
#define V_EBT 128
#define V_KPX 136
#define V_KOFF 144

// VEC_CONSTS loads the constants of the per-query work from the vecArgs at
// R8: the exponential's in Z16–Z25 (16/ln2, shift, ln2hi/16, ln2lo/16, 1,
// 1/2, 1/6, 1/24, 1/120, −708), Z11 (1/720) and Z12 (1/5040), its table
// 2^{i/16} in Z9 and Z10, +0 in Z26, −∞ in Z28 and tinySum in Z30. (Stage 2 reuses Z9–Z12 once stage 1 is done.)
#define VEC_CONSTS \
	MOVQ         V_EXP(R8), R11 \
	VBROADCASTSD 0(R11), Z16 \
	VBROADCASTSD 8(R11), Z17 \
	VBROADCASTSD 16(R11), Z18 \
	VBROADCASTSD 24(R11), Z19 \
	VBROADCASTSD 32(R11), Z20 \
	VBROADCASTSD 40(R11), Z21 \
	VBROADCASTSD 48(R11), Z22 \
	VBROADCASTSD 56(R11), Z23 \
	VBROADCASTSD 64(R11), Z24 \
	VBROADCASTSD 72(R11), Z25 \
	VBROADCASTSD 80(R11), Z11 \
	VBROADCASTSD 88(R11), Z12 \
	VXORPD       Z26, Z26, Z26 \
	MOVQ         V_TAB(R8), R11 \
	VMOVUPD      0(R11), Z9 \
	VMOVUPD      64(R11), Z10 \
	VBROADCASTSD qc<>+0(SB), Z28 \
	VBROADCASTSD qc<>+8(SB), Z30

// GROUP_KEYS sums the rows of key group j's keys (R10 = j) in ebT from SI
// (ADD_E(r) adds the row of the key whose offset is in r into the even
// chains, ADD_O(r) into the odd ones: keys 0, 2, … even, 1, 3, … odd, in key
// order — gatherGroupsAVX512's chains), four keys to a load of their 16-bit
// offsets. The chains must be zero on entry. It uses AX, BX, R13 and t; the
// labels l4, l2, l1 and lend are the caller's.
#define GROUP_KEYS(t, ADD_E, ADD_O, l4, l2, l1, lend) \
	MOVQ    V_KOFF(R8), AX \
	MOVLQSX (AX)(R10*4), t \
	MOVLQSX 4(AX)(R10*4), R13 \
	SUBQ    t, R13 \
	MOVQ    V_KPX(R8), BX \
	LEAQ    (BX)(t*2), BX \
l4: \
	CMPQ    R13, $4 \
	JLT     l2 \
	MOVQ    (BX), AX \
	MOVWQZX AX, t \
	ADD_E(t) \
	SHRQ    $16, AX \
	MOVWQZX AX, t \
	ADD_O(t) \
	SHRQ    $16, AX \
	MOVWQZX AX, t \
	ADD_E(t) \
	SHRQ    $16, AX \
	ADD_O(AX) \
	ADDQ    $8, BX \
	SUBQ    $4, R13 \
	JMP     l4 \
l2: \
	CMPQ    R13, $2 \
	JLT     l1 \
	MOVWQZX 0(BX), AX \
	MOVWQZX 2(BX), t \
	ADD_E(AX) \
	ADD_O(t) \
	ADDQ    $4, BX \
	SUBQ    $2, R13 \
l1: \
	TESTQ   R13, R13 \
	JZ      lend \
	MOVWQZX (BX), AX \
	ADD_E(AX) \
lend:

// The adds of GROUP_T (a key's 16 rows: even Z14 and Z27, odd Z29 and Z31)
// and GROUP_TH (its 8 rows of the half: even Z14, odd Z31).
#define ADD16_E(r) VADDPD 0(SI)(r*8), Z14, Z14; VADDPD 64(SI)(r*8), Z27, Z27
#define ADD16_O(r) VADDPD 0(SI)(r*8), Z29, Z29; VADDPD 64(SI)(r*8), Z31, Z31
#define ADD8_E(r) VADDPD 0(SI)(r*8), Z14, Z14
#define ADD8_O(r) VADDPD 0(SI)(r*8), Z31, Z31

// GROUP_T sets Z1 to T_j of the lanes' rows (Z15), the sum over key group
// j's keys (R10 = j) of their rows of ebT, computed here rather than by the
// gather before stage 1 (blockQueries8AVX512): the same chains as
// gatherGroupsAVX512 — even keys into Z14 (rows 0–7) and Z27 (8–15), odd
// ones into Z29 and Z31, in key order from +0, then even + odd — so the same
// bits, the loads of the keys' rows now beside the group's exponential
// instead of in a pass of their own (that pass cost as much as its whole
// time: nothing overlapped it). It uses AX, BX, DX, SI and R13.
#define GROUP_T \
	MOVQ   V_EBT(R8), SI \
	VPXORQ Z14, Z14, Z14 \
	VPXORQ Z27, Z27, Z27 \
	VPXORQ Z29, Z29, Z29 \
	VPXORQ Z31, Z31, Z31 \
	GROUP_KEYS(DX, ADD16_E, ADD16_O, gt4, gt2, gt1, gtsum) \
	VADDPD    Z29, Z14, Z1 \
	VADDPD    Z31, Z27, Z27 \
	VPERMT2PD Z27, Z15, Z1

// GROUP_TH is GROUP_T for one half of the block's rows (blockQueriesAVX512,
// DX = 0 or 64 bytes: rows 0–7 or 8–15): Z1 = T_j of the half's rows. It
// uses AX, BX, SI, R9 (reloaded with the has pointer at the end) and R13.
#define GROUP_TH \
	MOVQ   V_EBT(R8), SI \
	ADDQ   DX, SI \
	VPXORQ Z14, Z14, Z14 \
	VPXORQ Z31, Z31, Z31 \
	GROUP_KEYS(R9, ADD8_E, ADD8_O, gh4, gh2, gh1, ghsum) \
	VADDPD Z31, Z14, Z1 \
	MOVQ   V_HAS(R8), R9

// EXP_NONPOS sets Z6 to e^{Z0} (Z0 in (−708, 0]): fastexp's nonPosAVX512,
// the same operations in the same order; the table entry k & 15 by one
// permute of the registers Z9 and Z10. It uses Z1–Z7, and the constants in
// Z16–Z24, Z11 and Z12.
#define EXP_NONPOS \
	VMULPD     Z16, Z0, Z1 \
	VADDPD     Z17, Z1, Z1 \
	VPSUBQ     Z17, Z1, Z2 \
	VSUBPD     Z17, Z1, Z1 \
	VMULPD     Z18, Z1, Z3 \
	VSUBPD     Z3, Z0, Z3 \
	VMULPD     Z19, Z1, Z4 \
	VSUBPD     Z4, Z3, Z3 \
	VMULPD     Z3, Z3, Z4 \
	VADDPD     Z3, Z20, Z5 \
	VMULPD     Z22, Z3, Z6 \
	VADDPD     Z6, Z21, Z6 \
	VMULPD     Z24, Z3, Z7 \
	VADDPD     Z7, Z23, Z7 \
	VMULPD     Z12, Z3, Z1 \
	VADDPD     Z1, Z11, Z1 \
	VMULPD     Z1, Z4, Z1 \
	VADDPD     Z1, Z7, Z7 \
	VMULPD     Z7, Z4, Z7 \
	VADDPD     Z7, Z6, Z6 \
	VMULPD     Z6, Z4, Z6 \
	VADDPD     Z6, Z5, Z5 \
	VPSRAQ     $4, Z2, Z7 \
	VPSLLQ     $52, Z7, Z7 \
	VPERMI2PD  Z10, Z9, Z2 \
	VMULPD     Z5, Z2, Z6 \
	VPADDQ     Z7, Z6, Z6

// STAGE1_HEAD starts stage 1's loop over the areas (SI at the A rows, DI at
// eaT): m = −∞ in Z8, and at each area j (R10; R12 = 128·j) z_j in Z0; the
// caller then puts v_j = z_j·A_j in Z1 and goes on with STAGE1_REST (vloop's
// exit is vdone, in it).
#define STAGE1_HEAD \
	MOVQ  V_Z(R8), BX \
	MOVQ  V_HAS(R8), R9 \
	MOVQ  V_N(R8), CX \
	VMOVAPD Z28, Z8 \
	XORQ  R10, R10 \
	XORQ  R12, R12 \
vloop: \
	CMPQ         R10, CX \
	JGE          vdone \
	VBROADCASTSD (BX)(R10*8), Z0

// STAGE1_REST is stage 1 after v_j = z_j·A_j is in Z1 (vloop's head):
// v_j kept in eaT, the maximum m over the groups with keys in Z8, then,
// group by group, x = v_j − m and e_j = e^x (1 for a group without keys)
// into eaT, and with it stage 2's first loop: the caller puts the group's
// T_j (R13 at the sums, R12 = 128·j) in Z1 and X_TAIL makes S_j = e_j·T_j
// (into sT at R11) and Σ += S_j (in Z13), in group order as before; at the
// end the fallback when a query lane had an x outside (−708, 0] (the Go
// code's test, which it takes per term); it leaves at xend (the caller's
// label). (The S_j were a loop of their own after stage 1, whose chain of
// additions then waited for the last exponential.) Only x > −708 is
// tested, once per group, and the lanes that pass are accumulated in K4:
// x ≤ 0 holds whenever x is not NaN (m ≥ v_j for every group with keys,
// and m ≥ 0 when the masked keys' group, v = 0, has keys), and a NaN v_j,
// an infinite m or v_j, or an m of −∞ makes its x NaN, which fails the
// test — so no NaN bookkeeping in the maximum, whose lanes with a NaN need
// not be NaN. The exponentials and S_j of a failing lane are garbage,
// written only into eaT and sT.
#define STAGE1_REST \
	VMOVUPD      Z1, (DI)(R12*1) \
	MOVBLZX      (R9)(R10*1), AX \
	TESTL        AX, AX \
	JZ           vnext \
	VMAXPD       Z1, Z8, Z8 \
vnext: \
	INCQ R10 \
	ADDQ $128, R12 \
	JMP  vloop \
vdone: \
	MOVQ    V_NG(R8), AX \
	CMPQ    AX, CX \
	JLE     vmax \
	MOVBLZX (R9)(CX*1), AX \
	TESTL   AX, AX \
	JZ      vmax \
	VMAXPD  Z26, Z8, Z8 \
vmax: \
	KMOVW   K1, K4 \
	VXORPD  Z13, Z13, Z13 \
	MOVQ    V_NG(R8), CX \
	XORQ    R10, R10 \
	XORQ    R12, R12 \
xloop: \
	CMPQ    R10, CX \
	JGE     xchk \
	MOVBLZX (R9)(R10*1), AX \
	TESTL   AX, AX \
	JNZ     xhas \
	VMOVAPD Z20, Z6 \
	JMP     xs \
xhas: \
	VMOVAPD Z26, Z0 \
	CMPQ    R10, V_N(R8) \
	JGE     xsub \
	VMOVUPD (DI)(R12*1), Z0 \
xsub: \
	VSUBPD   Z8, Z0, Z0 \
	VCMPPD   $0x1e, Z25, Z0, K4, K4 \
	EXP_NONPOS \
xs: \
	VMOVUPD  Z6, (DI)(R12*1)

#define X_TAIL \
	VMULPD  Z1, Z6, Z0 \
	VMOVUPD Z0, (R11)(R12*1) \
	VADDPD  Z0, Z13, Z13 \
	INCQ    R10 \
	ADDQ    $128, R12 \
	JMP     xloop \
xchk: \
	KXORW    K4, K1, K2 \
	KORTESTW K2, K2 \
	JNZ      fallback

#define D_LOOP \
	XORQ      R10, R10 \
	XORQ      R12, R12 \
dloop: \
	CMPQ         R10, CX \
	JGE          ddone \
	VBROADCASTSD (BX)(R10*8), Z14 \
	VMULPD       (R9)(R12*1), Z10, Z0 \
	VMOVUPD      Z0, (R9)(R12*1) \
	VMULPD       Z14, Z0, Z1 \
	VPBROADCASTQ R10, Z2 \
	VPCMPEQQ     Z2, Z11, K4 \
	VSUBPD       Z14, Z1, K4, Z1 \
	VMULPD       Z1, Z14, Z3 \
	VMOVUPD      Z3, (R11)(R12*1) \
	VMULPD       Z1, Z1, Z4 \
	VADDPD       Z4, Z12, Z12 \
	VMULPD       Z3, Z0, Z5 \
	VADDPD       Z5, Z13, Z13 \
	INCQ         R10 \
	ADDQ         $128, R12 \
	JMP          dloop

#define CF_ROW \
	VMOVUPD      (R11)(R12*1), Z0 \
	VSUBPD       Z13, Z0, Z0 \
	CF_FROM_Z0

// CF_MASKED is CF_ROW for the masked keys' group (keys "all"), whose r_j is
// 0: Z1 = coef·(0 − r̄)·e_j. CF_FROM_Z0 is their common end, Z1 =
// coef·Z0·e_j, 0 in the lanes not in K3.
#define CF_MASKED \
	VSUBPD       Z13, Z26, Z0 \
	CF_FROM_Z0

#define CF_FROM_Z0 \
	VMULPD       Z0, Z16, Z1 \
	VMULPD       (DI)(R12*1), Z1, Z1 \
	VMOVAPD.Z    Z1, K3, Z1

#define GA_ROW \
	VBROADCASTSD (BX)(R10*8), Z14 \
	VMULPD       Z14, Z7, Z2 \
	VMULPD       (R9)(R12*1), Z2, Z2 \
	VMULPD       Z0, Z2, Z2

// func blockQueriesAVX512(a *vecArgs) int
//
// Returns −1, having written nothing but its scratch tables eaT and sT,
// when an exponent argument of a query is outside (−708, 0] (the Go code
// takes the portable path, gathering the group sums itself), else
// the rows (bit r) whose factored normaliser is below tinySum: their
// queries' A gradient is not written, their losses are garbage (the Go code
// runs queryDirect for them). It writes all the ng·16 coefficients, 0 in
// the rows without a query or with queryDirect (cg needs no clearing).
TEXT ·blockQueriesAVX512(SB), NOSPLIT, $0-16
	MOVQ         a+0(FP), R8
	VEC_CONSTS
	XORQ         DX, DX              // half: byte offset 0 or 64

// Stage 1, each half: v_j = z_j·A_j (kept in eaT), m = max over the groups
// with keys, then e_j = e^{v_j − m} (1 for a group without keys) into eaT,
// S_j = e_j·T_j into sT and their sum Σ (half 0's kept in Z27, half 1's in
// Z29).
h1:
	MOVQ  V_MASK(R8), AX
	MOVQ  DX, CX
	SHRQ  $3, CX
	SHRQ  CX, AX
	ANDQ  $0xff, AX
	JZ    h1next
	KMOVW AX, K1
	MOVQ  V_AT(R8), SI
	ADDQ  DX, SI
	MOVQ  V_EAT(R8), DI
	ADDQ  DX, DI
	MOVQ  V_ST(R8), R11
	ADDQ  DX, R11
	STAGE1_HEAD
	VMULPD       (SI)(R12*1), Z0, Z1 // v = z_j·A_j
	STAGE1_REST
	GROUP_TH                         // T_j of the half's rows
	X_TAIL

xend:
	TESTQ   DX, DX
	JNZ     xend1
	VMOVAPD Z13, Z27                 // Σ of half 0
	JMP     h1next

xend1:
	VMOVAPD Z13, Z29                 // of half 1

h1next:
	ADDQ $64, DX
	CMPQ DX, $128
	JLT  h1

	// Stage 2, each half: blockCoefs.
	XORQ         R13, R13            // rows for queryDirect
	VBROADCASTSD V_W(R8), Z7         // weight
	MOVQ         V_EXP(R8), R11
	VBROADCASTSD 40(R11), Z31        // 1/2
	XORQ         DX, DX

h2:
	MOVQ  V_MASK(R8), AX
	MOVQ  DX, CX
	SHRQ  $3, CX
	SHRQ  CX, AX
	ANDQ  $0xff, AX
	JZ    h2zero
	KMOVW AX, K1
	MOVQ  V_EAT(R8), DI
	ADDQ  DX, DI
	MOVQ  V_ST(R8), R9
	ADDQ  DX, R9
	VMOVAPD Z27, Z9                  // Σ of half 0
	TESTQ   DX, DX
	JZ      sdone
	VMOVAPD Z29, Z9                  // of half 1

sdone:
	VCMPPD    $0x11, Z30, Z9, K1, K2 // query lanes with Σ < tinySum (ordered): queryDirect
	KANDNW    K1, K2, K3             // the others
	KMOVW     K2, AX
	MOVQ      DX, CX
	SHRQ      $3, CX
	SHLQ      CX, AX
	ORQ       AX, R13
	VDIVPD    Z9, Z20, Z10           // inv = 1/Σ
	MOVQ      V_AREA(R8), AX
	VMOVDQU64 (AX)(DX*1), Z11        // own area of each row
	VXORPD    Z12, Z12, Z12          // ℓ·2
	VXORPD    Z13, Z13, Z13          // r̄
	MOVQ      V_RRT(R8), R11
	ADDQ      DX, R11
	MOVQ      V_Z(R8), BX
	MOVQ      V_N(R8), CX
	D_LOOP

ddone:
	VMULPD      Z31, Z12, Z12        // ℓ = ½·lp
	VCOMPRESSPD Z12, K1, Z6          // the query rows' losses, in row order
	KMOVW       K1, AX
	POPCNTL     AX, CX
	MOVL        $1, AX
	SHLL        CX, AX
	DECL        AX
	KMOVW       AX, K5               // as many lanes as the half has queries
	MOVQ        V_MASK(R8), AX
	ANDQ        $0xff, AX
	POPCNTQ     AX, AX
	MOVQ        DX, CX
	SHRQ        $6, CX               // 1 in the second half
	IMULQ       CX, AX               // the losses before this half's
	MOVQ        V_QL(R8), CX
	VMOVUPD     Z6, K5, (CX)(AX*8)
	VMULPD      Z10, Z7, Z16         // coef = weight·inv
	MOVQ        V_CG(R8), SI
	ADDQ        DX, SI
	MOVQ        V_GAT(R8), AX
	ADDQ        DX, AX
	MOVQ        V_N(R8), CX
	XORQ        R10, R10
	XORQ        R12, R12

cloop:
	CMPQ         R10, CX
	JGE          cdone
	CF_ROW                           // 0 in the rows without a query or with queryDirect
	VMOVUPD      Z1, (SI)(R12*1)
	GA_ROW
	VADDPD       (AX)(R12*1), Z2, Z2
	VMOVUPD      Z2, K3, (AX)(R12*1)
	INCQ         R10
	ADDQ         $128, R12
	JMP          cloop

cdone:
	CMPQ    V_NG(R8), CX
	JLE     h2next
	CF_MASKED                        // the masked keys' group
	VMOVUPD Z1, (SI)(R12*1)
	JMP     h2next

h2zero:
	// A half without queries: its coefficients are 0.
	MOVQ V_CG(R8), SI
	ADDQ DX, SI
	MOVQ V_NG(R8), CX

zloop:
	VMOVUPD Z26, (SI)
	ADDQ    $128, SI
	DECQ    CX
	JNZ     zloop

h2next:
	ADDQ $64, DX
	CMPQ DX, $128
	JLT  h2
	VZEROUPPER
	MOVQ R13, ret+8(FP)
	RET

fallback:
	VZEROUPPER
	MOVQ $-1, ret+8(FP)
	RET

DATA iota<>+0(SB)/8, $0
DATA iota<>+8(SB)/8, $1
DATA iota<>+16(SB)/8, $2
DATA iota<>+24(SB)/8, $3
DATA iota<>+32(SB)/8, $4
DATA iota<>+40(SB)/8, $5
DATA iota<>+48(SB)/8, $6
DATA iota<>+56(SB)/8, $7
GLOBL iota<>(SB), RODATA|NOPTR, $64

// func blockQueries8AVX512(a *vecArgs) int
//
// blockQueriesAVX512 for a term with at most eight queries in the block (a
// term has about γ·16 of them): one vector of eight lanes instead of the two
// halves of the block's rows, lane l taking the query of the l-th row of
// the mask (Z15 holds the rows, rows 0–7 or 8–15 of a table read by one
// permute). The results go back to the rows by the inverse permutes (Z6 for
// rows 0–7, Z8 for 8–15; rows without a query get 0), and the A gradient is
// added in all the query rows, a queryDirect row's as +0 (which leaves it:
// the table is never −0). The same operations on each query as
// blockQueriesAVX512, so the same bits; the same results and return value.
TEXT ·blockQueries8AVX512(SB), NOSPLIT, $0-16
	MOVQ  a+0(FP), R8
	VEC_CONSTS
	MOVQ  V_MASK(R8), BX
	MOVQ  BX, AX
	ANDQ  $0xff, AX
	KMOVW AX, K6                     // rows 0–7 with a query
	POPCNTQ AX, DX                   // c0, their number
	MOVQ  BX, AX
	SHRQ  $8, AX
	KMOVW AX, K7                     // rows 8–15
	POPCNTQ BX, CX                   // the queries
	MOVL  $1, AX
	SHLL  CX, AX
	DECL  AX
	KMOVW AX, K1                     // their lanes
	MOVL  $1, AX
	MOVQ  DX, CX
	SHLL  CX, AX
	DECL  AX
	KMOVW AX, K2
	KANDNW K1, K2, K2                // lanes c0… : rows 8–15
	VMOVDQU64   iota<>(SB), Z0
	VPCOMPRESSQ.Z Z0, K6, Z15        // lanes 0…c0−1: their rows 0–7
	MOVQ        $8, AX
	VPBROADCASTQ AX, Z3
	VPADDQ      Z3, Z0, Z3           // 8…15
	VPCOMPRESSQ.Z Z3, K7, Z4
	VPEXPANDQ   Z4, K2, Z15          // lanes c0…: their rows 8–15

	// Stage 1: v_j = z_j·A_j (kept in eaT), m, e_j = e^{v_j − m} into eaT,
	// S_j = e_j·T_j into sT (the T_j of the lanes' rows by the permute), Σ.
	MOVQ  V_AT(R8), SI
	MOVQ  V_EAT(R8), DI
	MOVQ  V_ST(R8), R11
	STAGE1_HEAD
	VMOVUPD      (SI)(R12*1), Z2
	VPERMT2PD    64(SI)(R12*1), Z15, Z2 // A_j of the lanes' rows
	VMULPD       Z2, Z0, Z1          // v = z_j·A_j
	STAGE1_REST
	GROUP_T                          // T_j of the lanes' rows
	X_TAIL

xend:
	MOVQ    V_MASK(R8), DX
	ANDQ    $0xff, DX
	POPCNTQ DX, DX                   // c0 again (GROUP_T used DX)
	// Stage 2: blockCoefs.
	VBROADCASTSD V_W(R8), Z7         // weight
	MOVQ         V_EXP(R8), R11
	VBROADCASTSD 40(R11), Z31        // 1/2
	MOVQ         V_ST(R8), R9
	VMOVAPD      Z13, Z9             // Σ

sdone:
	VCMPPD    $0x11, Z30, Z9, K1, K2 // query lanes with Σ < tinySum (ordered): queryDirect
	KANDNW    K1, K2, K3             // the others
	KMOVW     K2, AX
	MOVQ      V_MASK(R8), BX
	PDEPQ     BX, AX, R13            // their rows
	VDIVPD    Z9, Z20, Z10           // inv = 1/Σ
	MOVQ      V_AREA(R8), AX
	VMOVDQU64 (AX), Z11
	VPERMT2Q  64(AX), Z15, Z11       // own area of each lane's row
	VMOVDQU64 iota<>(SB), Z0
	VPEXPANDQ.Z Z0, K6, Z6           // rows 0–7: their lanes
	VPBROADCASTQ DX, Z1
	VPADDQ    Z1, Z0, Z1
	VPEXPANDQ.Z Z1, K7, Z8           // rows 8–15: their lanes
	VXORPD    Z12, Z12, Z12          // ℓ·2
	VXORPD    Z13, Z13, Z13          // r̄
	MOVQ      V_RRT(R8), R11
	MOVQ      V_Z(R8), BX
	MOVQ      V_N(R8), CX
	D_LOOP

ddone:
	VMULPD       Z31, Z12, Z12        // ℓ = ½·lp
	MOVQ         V_QL(R8), AX
	VMOVUPD      Z12, K1, (AX)        // the losses, in row order
	VMULPD       Z10, Z7, Z16         // coef = weight·inv
	MOVQ         V_CG(R8), SI
	MOVQ         V_GAT(R8), AX
	MOVQ         V_N(R8), CX
	XORQ         R10, R10
	XORQ         R12, R12

cloop:
	CMPQ         R10, CX
	JGE          cdone
	CF_ROW                            // 0 in the lanes with queryDirect
	VPERMPD.Z    Z1, Z6, K6, Z3       // to rows 0–7, 0 in the rows without a query
	VPERMPD.Z    Z1, Z8, K7, Z4
	VMOVUPD      Z3, 0(SI)(R12*1)
	VMOVUPD      Z4, 64(SI)(R12*1)
	GA_ROW
	VMOVAPD.Z    Z2, K3, Z2
	VPERMPD.Z    Z2, Z6, K6, Z3
	VPERMPD.Z    Z2, Z8, K7, Z4
	VADDPD       0(AX)(R12*1), Z3, Z3
	VADDPD       64(AX)(R12*1), Z4, Z4
	VMOVUPD      Z3, K6, 0(AX)(R12*1)
	VMOVUPD      Z4, K7, 64(AX)(R12*1)
	INCQ         R10
	ADDQ         $128, R12
	JMP          cloop

cdone:
	CMPQ      V_NG(R8), CX
	JLE       done
	CF_MASKED                        // the masked keys' group
	VPERMPD.Z Z1, Z6, K6, Z3
	VPERMPD.Z Z1, Z8, K7, Z4
	VMOVUPD   Z3, 0(SI)(R12*1)
	VMOVUPD   Z4, 64(SI)(R12*1)

done:
	VZEROUPPER
	MOVQ R13, ret+8(FP)
	RET

fallback:
	VZEROUPPER
	MOVQ $-1, ret+8(FP)
	RET
