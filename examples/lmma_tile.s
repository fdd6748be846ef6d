; One LUT Tensor Core tile, written by hand: O[2, 64] = A[2, 4] . W[64, 4]^T with int2 weights
; and fp16 activations, on lut-tc-28nm (one M2N64K4 unit).
;   lutsim run examples/lmma_tile.s --arch lut-tc-28nm --json
; Weights: 64 x 4 int2 codes = 64 bytes. Activations: 2 x 4 fp16 = 16 bytes. Tables: 2 rows x one
; K=4 group x 8 stored fp16 entries = 32 bytes. Output: 2 x 64 fp16 = 256 bytes.
.arch lut-tc-28nm
w:    LOAD buf=wbuf addr=0x0 bytes=64 alloc=wbuf:64
a:    LOAD buf=abuf addr=0x1000 bytes=16 alloc=abuf:16
tab:  PRECOMPUTE m=2 k=4 acts=fp16 after=a alloc=tbuf:32 free=abuf:16 rd=abuf:16 wr=tbuf:32
mm:   LMMA m=2 n=64 k=4 weights=int2 acts=fp16 after=w,tab alloc=obuf:256 free=wbuf:64,tbuf:32 rd=wbuf:64,tbuf:32 wr=obuf:256
o:    STORE buf=obuf addr=0x2000 bytes=256 after=mm free=obuf:256
