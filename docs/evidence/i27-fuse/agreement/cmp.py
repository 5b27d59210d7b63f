import json, numpy as np
old = json.load(open('/tmp/agree_old.json')); new = json.load(open('/tmp/agree_new.json'))
assert len(old)==len(new)
print(f"{'preset':15} {'objective':16} {'state':5} {'dim':>6} {'loss rel':>9} {'grad norm':>9} {'elem max':>9} {'elem@':>6} {'|a|/max|a|':>10} {'#>1e-13':>7}")
worst=[]
for a,b in zip(old,new):
    assert (a['preset'],a['objective'],a['state'])==(b['preset'],b['objective'],b['state'])
    ga=np.array(a['grad']); gb=np.array(b['grad'])
    lr=abs(a['loss']-b['loss'])/abs(a['loss'])
    m=np.max(np.abs(ga))
    nr=np.max(np.abs(ga-gb))/m
    mask=np.abs(ga)>1e-12*m
    er=np.abs(ga-gb)[mask]/np.abs(ga[mask])
    i=np.argmax(er); idx=np.flatnonzero(mask)[i]
    nexc=int(np.sum(er>1e-13))
    print(f"{a['preset']:15} {a['objective']:16} {a['state']:5} {len(ga):6} {lr:9.2e} {nr:9.2e} {er[i]:9.2e} {idx:6} {abs(ga[idx])/m:10.2e} {nexc:7}")
    if nexc: 
        ex=np.flatnonzero(mask)[er>1e-13]
        rel=np.abs(ga[ex])/m
        worst.append((a['preset'],a['objective'],a['state'],nexc,len(ga),er.max(),rel.max(),rel.min(), np.max(np.abs(ga-gb)[ex])/m))
print()
for w in worst: print("EXCEED %s %s %s: %d/%d entries, worst elem rel %.2e; exceeding entries have |a|/max|a| in [%.1e, %.1e]; their abs diff/max|a| <= %.1e"%(w[0],w[1],w[2],w[3],w[4],w[5],w[7],w[6],w[8]))
