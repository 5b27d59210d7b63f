//go:build amd64 && !purego

#include "textflag.h"

// The row loops of the exact kernel in SSE2 (part of the amd64 baseline, so
// no CPU feature check): see exact_kernel_rows.go. A key's rowBlock = 16
// transposed entries are 128 bytes at byte offset q·128; eight XMM registers
// hold the 16 rows (X15, Go's zero register, is not used). Each row is summed in key order from +0, exactly as the
// portable Go loops do, so both give the same bits.

// func gatherRowsAsm(ebT *float64, kp *int32, nk int, out *[16]float64)
TEXT ·gatherRowsAsm(SB), NOSPLIT, $0-32
	MOVQ ebT+0(FP), SI
	MOVQ kp+8(FP), BX
	MOVQ nk+16(FP), CX
	MOVQ out+24(FP), DI
	XORPD X0, X0
	XORPD X1, X1
	XORPD X2, X2
	XORPD X3, X3
	XORPD X4, X4
	XORPD X5, X5
	XORPD X6, X6
	XORPD X7, X7
	TESTQ CX, CX
	JZ    gdone

gloop:
	MOVLQSX (BX), AX
	SHLQ    $7, AX
	ADDQ    SI, AX
	MOVUPD  0(AX), X8
	MOVUPD  16(AX), X9
	MOVUPD  32(AX), X10
	MOVUPD  48(AX), X11
	ADDPD   X8, X0
	ADDPD   X9, X1
	ADDPD   X10, X2
	ADDPD   X11, X3
	MOVUPD  64(AX), X12
	MOVUPD  80(AX), X13
	MOVUPD  96(AX), X14
	MOVUPD  112(AX), X8
	ADDPD   X12, X4
	ADDPD   X13, X5
	ADDPD   X14, X6
	ADDPD   X8, X7
	ADDQ    $4, BX
	DECQ    CX
	JNZ     gloop

gdone:
	MOVUPD X0, 0(DI)
	MOVUPD X1, 16(DI)
	MOVUPD X2, 32(DI)
	MOVUPD X3, 48(DI)
	MOVUPD X4, 64(DI)
	MOVUPD X5, 80(DI)
	MOVUPD X6, 96(DI)
	MOVUPD X7, 112(DI)
	RET

// func scatterRowsAsm(cT *float64, kp *int32, nk int, c *[16]float64)
TEXT ·scatterRowsAsm(SB), NOSPLIT, $0-32
	MOVQ cT+0(FP), SI
	MOVQ kp+8(FP), BX
	MOVQ nk+16(FP), CX
	MOVQ c+24(FP), DI
	TESTQ CX, CX
	JZ    sdone
	MOVUPD 0(DI), X0
	MOVUPD 16(DI), X1
	MOVUPD 32(DI), X2
	MOVUPD 48(DI), X3
	MOVUPD 64(DI), X4
	MOVUPD 80(DI), X5
	MOVUPD 96(DI), X6
	MOVUPD 112(DI), X7

sloop:
	MOVLQSX (BX), AX
	SHLQ    $7, AX
	ADDQ    SI, AX
	MOVUPD  0(AX), X8
	MOVUPD  16(AX), X9
	MOVUPD  32(AX), X10
	MOVUPD  48(AX), X11
	ADDPD   X0, X8
	ADDPD   X1, X9
	ADDPD   X2, X10
	ADDPD   X3, X11
	MOVUPD  X8, 0(AX)
	MOVUPD  X9, 16(AX)
	MOVUPD  X10, 32(AX)
	MOVUPD  X11, 48(AX)
	MOVUPD  64(AX), X12
	MOVUPD  80(AX), X13
	MOVUPD  96(AX), X14
	MOVUPD  112(AX), X8
	ADDPD   X4, X12
	ADDPD   X5, X13
	ADDPD   X6, X14
	ADDPD   X7, X8
	MOVUPD  X12, 64(AX)
	MOVUPD  X13, 80(AX)
	MOVUPD  X14, 96(AX)
	MOVUPD  X8, 112(AX)
	ADDQ    $4, BX
	DECQ    CX
	JNZ     sloop

sdone:
	RET
