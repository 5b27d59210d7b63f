//go:build amd64 && !purego

#include "textflag.h"

// gatherRows and scatterRows over all the key groups of a term in one call
// (exact_kernel_groups.go): the same loops as gatherRowsAVX512 and
// scatterRowsAVX512 (exact_kernel_rows_amd64.s), group after group — the
// gather two groups side by side (eight addition chains instead of four;
// each row's sums are still over the even and the odd keys of its group, in
// key order from +0) — so the same bits.

// ADD_KEYS4 adds the rows of four keys of one group — their offsets in
// ebT, q·16, four 16-bit values at the list pointer keys, read by one load
// (with a load per key the loop was bound by its loads) — into the group's
// chains: keys 0 and 2 into the even sums (ze: rows 0–7, ze2: rows 8–15),
// keys 1 and 3 into the odd ones (zo, zo2). ADD_KEYS2 adds two keys, the
// first into the even sums, the second into the odd; ADD_KEY one key into
// the even sums.
#define ADD_KEYS4(keys, ze, ze2, zo, zo2) \
	MOVQ    (keys), AX \
	MOVWQZX AX, DX \
	MOVL    AX, R8 \
	SHRL    $16, R8 \
	VADDPD  0(SI)(DX*8), ze, ze \
	VADDPD  64(SI)(DX*8), ze2, ze2 \
	VADDPD  0(SI)(R8*8), zo, zo \
	VADDPD  64(SI)(R8*8), zo2, zo2 \
	SHRQ    $32, AX \
	MOVWQZX AX, DX \
	SHRL    $16, AX \
	VADDPD  0(SI)(DX*8), ze, ze \
	VADDPD  64(SI)(DX*8), ze2, ze2 \
	VADDPD  0(SI)(AX*8), zo, zo \
	VADDPD  64(SI)(AX*8), zo2, zo2

#define ADD_KEYS2(keys, ze, ze2, zo, zo2) \
	MOVWQZX 0(keys), AX \
	MOVWQZX 2(keys), DX \
	VADDPD  0(SI)(AX*8), ze, ze \
	VADDPD  64(SI)(AX*8), ze2, ze2 \
	VADDPD  0(SI)(DX*8), zo, zo \
	VADDPD  64(SI)(DX*8), zo2, zo2

#define ADD_KEY(keys, ze, ze2) \
	MOVWQZX (keys), AX \
	VADDPD  0(SI)(AX*8), ze, ze \
	VADDPD  64(SI)(AX*8), ze2, ze2

// func gatherGroupsAVX512(ebT *float64, kposX *uint16, koff *int32, ng int, tg *float64)
//
// kposX holds the keys' offsets in ebT, q·16 (weightedSet.kposX).
TEXT ·gatherGroupsAVX512(SB), NOSPLIT, $0-40
	MOVQ ebT+0(FP), SI
	MOVQ koff+16(FP), R11
	MOVQ ng+24(FP), R12
	MOVQ tg+32(FP), DI

gpair:
	TESTQ  R12, R12
	JZ     gend
	VPXORQ Z0, Z0, Z0
	VPXORQ Z1, Z1, Z1
	VPXORQ Z2, Z2, Z2
	VPXORQ Z3, Z3, Z3
	VPXORQ Z4, Z4, Z4
	VPXORQ Z5, Z5, Z5
	VPXORQ Z6, Z6, Z6
	VPXORQ Z7, Z7, Z7
	MOVQ   kposX+8(FP), BX
	MOVQ   BX, R9
	MOVLQSX (R11), AX
	MOVLQSX 4(R11), CX
	LEAQ   (BX)(AX*2), BX            // group j's keys
	SUBQ   AX, CX                    // and their number
	XORQ   R10, R10                  // group j+1's number of keys (none when j+1 = ng)
	CMPQ   R12, $2
	JLT    gboth
	MOVLQSX 4(R11), AX
	MOVLQSX 8(R11), R10
	LEAQ   (R9)(AX*2), R9
	SUBQ   AX, R10

gboth4:
	// Four keys of each group at a time while both have four: the same
	// chains (keys 0 and 2 into the even sums, 1 and 3 into the odd).
	CMPQ    CX, $4
	JLT     gboth
	CMPQ    R10, $4
	JLT     gboth
	ADD_KEYS4(BX, Z0, Z1, Z2, Z3)
	ADD_KEYS4(R9, Z4, Z5, Z6, Z7)
	ADDQ    $8, BX
	ADDQ    $8, R9
	SUBQ    $4, CX
	SUBQ    $4, R10
	JMP     gboth4

gboth:
	CMPQ    CX, $2
	JLT     gonlyb4
	CMPQ    R10, $2
	JLT     gonlya4
	ADD_KEYS2(BX, Z0, Z1, Z2, Z3)
	ADD_KEYS2(R9, Z4, Z5, Z6, Z7)
	ADDQ    $4, BX
	ADDQ    $4, R9
	SUBQ    $2, CX
	SUBQ    $2, R10
	JMP     gboth

gonlya4:
	CMPQ    CX, $4
	JLT     gonlya
	ADD_KEYS4(BX, Z0, Z1, Z2, Z3)
	ADDQ    $8, BX
	SUBQ    $4, CX
	JMP     gonlya4

gonlya:
	CMPQ    CX, $2
	JLT     gtaila
	ADD_KEYS2(BX, Z0, Z1, Z2, Z3)
	ADDQ    $4, BX
	SUBQ    $2, CX
	JMP     gonlya

gonlyb4:
	CMPQ    R10, $4
	JLT     gonlyb
	ADD_KEYS4(R9, Z4, Z5, Z6, Z7)
	ADDQ    $8, R9
	SUBQ    $4, R10
	JMP     gonlyb4

gonlyb:
	CMPQ    R10, $2
	JLT     gtaila
	ADD_KEYS2(R9, Z4, Z5, Z6, Z7)
	ADDQ    $4, R9
	SUBQ    $2, R10
	JMP     gonlyb

gtaila:
	TESTQ   CX, CX
	JZ      gtailb
	ADD_KEY(BX, Z0, Z1)

gtailb:
	TESTQ   R10, R10
	JZ      gstore
	ADD_KEY(R9, Z4, Z5)

gstore:
	VADDPD  Z2, Z0, Z0
	VADDPD  Z3, Z1, Z1
	VMOVUPD Z0, 0(DI)
	VMOVUPD Z1, 64(DI)
	CMPQ    R12, $2
	JLT     gend
	VADDPD  Z6, Z4, Z4
	VADDPD  Z7, Z5, Z5
	VMOVUPD Z4, 128(DI)
	VMOVUPD Z5, 192(DI)
	ADDQ    $256, DI
	ADDQ    $8, R11
	SUBQ    $2, R12
	JMP     gpair

gend:
	VZEROUPPER
	RET

// func scatterGroupsAVX512(cT *float64, kpos *int32, koff *int32, ng int, cg *float64)
TEXT ·scatterGroupsAVX512(SB), NOSPLIT, $0-40
	MOVQ cT+0(FP), SI
	MOVQ kpos+8(FP), R9
	MOVQ koff+16(FP), R11
	MOVQ ng+24(FP), R12
	MOVQ cg+32(FP), DI

sgroup:
	TESTQ   R12, R12
	JZ      send
	MOVLQSX (R11), AX
	MOVLQSX 4(R11), CX
	LEAQ    (R9)(AX*4), BX
	SUBQ    AX, CX
	JZ      snext
	VMOVUPD 0(DI), Z0
	VMOVUPD 64(DI), Z1

sloop:
	MOVLQSX (BX), AX
	SHLQ    $7, AX
	VADDPD  0(SI)(AX*1), Z0, Z4
	VADDPD  64(SI)(AX*1), Z1, Z5
	VMOVUPD Z4, 0(SI)(AX*1)
	VMOVUPD Z5, 64(SI)(AX*1)
	ADDQ    $4, BX
	DECQ    CX
	JNZ     sloop

snext:
	ADDQ $128, DI
	ADDQ $4, R11
	DECQ R12
	JMP  sgroup

send:
	VZEROUPPER
	RET
