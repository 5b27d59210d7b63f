import json, numpy as np, sys
def load(p): return json.load(open(p))
def stats(A,B):
    out=[]
    for a,b in zip(A,B):
        assert (a['preset'],a['objective'],a['state'])==(b['preset'],b['objective'],b['state'])
        ga=np.array(a['grad']); gb=np.array(b['grad']); m=np.abs(ga).max()
        mask=np.abs(ga)>1e-12*m
        er=np.abs(ga-gb)[mask]/np.abs(ga[mask])
        out.append((abs(a['loss']-b['loss'])/abs(a['loss']), np.abs(ga-gb).max()/m, er.max(), int((er>1e-13).sum())))
    return out
old=load('/tmp/agree_old.json')
pairs={'new':load('/tmp/agree_new.json'),'ctl_mathexp(purego)':load('/tmp/agree_ctl.json'),'old_purego':load('/tmp/agree_old_purego.json')}
S={k:stats(old if k!='ctl_mathexp(purego)' else load('/tmp/agree_old_purego.json'),v) for k,v in pairs.items()}
# ctl compared with old_purego (same kernel path, only exp differs)
print("| preset | objective | state | dim | loss rel | grad normwise | grad elem max | #elem>1e-13 | ctl: elem max (#>1e-13) | vec-vs-purego: elem max (#>1e-13) |")
print("|---|---|---|---|---|---|---|---|---|---|")
for i,a in enumerate(old):
    n=S['new'][i]; c=S['ctl_mathexp(purego)'][i]; p=S['old_purego'][i]
    print(f"| {a['preset']} | {a['objective']} | {a['state']} | {len(a['grad'])} | {n[0]:.1e} | {n[1]:.1e} | {n[2]:.1e} | {n[3]} | {c[2]:.1e} ({c[3]}) | {p[2]:.1e} ({p[3]}) |")
for k in S: 
    s=S[k]; print(k, "max loss rel %.2e, max normwise %.2e, max elem %.2e, total elems>1e-13: %d"%(max(x[0] for x in s),max(x[1] for x in s),max(x[2] for x in s),sum(x[3] for x in s)))
