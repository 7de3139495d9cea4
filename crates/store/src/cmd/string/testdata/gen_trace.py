# Records a differential trace for cmd::string::tests::replay against a live
# redis-server: REDIS_PORT=<port> python3 gen_trace.py <seed> <out-file> <count>
# (send HELLO 3 before FLUSHALL for a RESP3 trace).
import socket, random, sys
random.seed(int(sys.argv[1]) if len(sys.argv)>1 else 1)
s=socket.create_connection(('127.0.0.1',int(__import__('os').environ.get('REDIS_PORT','6379')))); f=s.makefile('rb')
def enc(args):
    out=b'*%d\r\n'%len(args)
    for a in args: out+=b'$%d\r\n%s\r\n'%(len(a),a)
    return out
def read():
    line=f.readline(); t=line[:1]; out=line
    if t in b'+-:_,#': return out
    if t==b'$':
        n=int(line[1:-2]); 
        if n>=0: out+=f.read(n+2)
        return out
    if t in b'*%~':
        n=int(line[1:-2]); 
        if t==b'%': n*=2
        for _ in range(max(n,0)): out+=read()
        return out
    raise Exception(line)
def cmd(*a):
    a=[x if isinstance(x,bytes) else str(x).encode() for x in a]
    s.sendall(enc(a)); return a, read()
keys=[b'k1',b'k2',b'k3',b'l1']
def val():
    c=random.random()
    if c<0.3: return str(random.randint(-1000,1000)).encode()
    if c<0.5: return bytes(random.choice(b'ab\x00\xff\r\n') for _ in range(random.randint(0,12)))
    if c<0.7: return ''.join(random.choice('abcde') for _ in range(random.randint(0,30))).encode()
    return random.choice([b'0.1',b'1.5',b'-2.25',b'10',b'3.0e2',b'abc',b'',b'9223372036854775807',b'-9223372036854775808'])
def num():
    return random.choice([0,1,-1,2,-2,3,5,-5,7,8,9,15,16,17,31,33,63,64,100,-100,random.randint(-40,40),b'x',b'#2',b'#-1',9223372036854775807,-9223372036854775808])
def k(): return random.choice(keys[:3])
T=[
 lambda: ('set',k(),val()), lambda: ('get',k()), lambda: ('append',k(),val()), lambda: ('strlen',k()),
 lambda: ('getrange',k(),num(),num()), lambda: ('setrange',k(),random.randint(0,40),val()),
 lambda: ('incr',k()), lambda: ('incrby',k(),num()), lambda: ('decrby',k(),num()),
  lambda: ('lcs',k(),k()), lambda: ('lcs',k(),k(),'idx','withmatchlen'),
 lambda: ('lcs',k(),k(),'idx','minmatchlen',random.randint(0,3)), lambda: ('lcs',k(),k(),'len'),
 lambda: ('setbit',k(),random.randint(0,100),random.randint(0,1)), lambda: ('getbit',k(),random.randint(0,100)),
 lambda: ('bitcount',k()), lambda: ('bitcount',k(),num(),num()), lambda: ('bitcount',k(),num(),num(),random.choice(['bit','byte'])),
 lambda: ('bitpos',k(),random.randint(0,1)), lambda: ('bitpos',k(),random.randint(0,1),num()),
 lambda: ('bitpos',k(),random.randint(0,1),num(),num()), lambda: ('bitpos',k(),random.randint(0,1),num(),num(),random.choice(['bit','byte'])),
 lambda: ('bitop',random.choice(['and','or','xor']),k(),k(),k()), lambda: ('bitop','not',k(),k()),
 lambda: ('bitfield',k(),'overflow',random.choice(['wrap','sat','fail']),random.choice(['get','set','incrby']),random.choice(['i','u'])+str(random.randint(1,64)),num(),num()),
 lambda: ('bitfield',k(),'get',random.choice(['i','u'])+str(random.randint(1,64)),num()),
 lambda: ('mget',k(),k(),'l1'), lambda: ('msetnx',k(),val(),k(),val()), lambda: ('getset',k(),val()), lambda: ('getdel',k()),
 lambda: ('set',k(),val(),random.choice(['nx','xx','get','keepttl']),random.choice(['get','nx','xx'])),
 lambda: ('getex',k(),random.choice(['persist','ex','px'])), lambda: ('substr',k(),num(),num()),
 lambda: ('pfadd',k(),val(),val()), lambda: ('pfcount',k()), lambda: ('pfcount',k(),k()), lambda: ('pfmerge',k(),k()),
 lambda: ('setex',k(),num(),val()), lambda: ('incrbyfloat',k(),val()), lambda: ('incrbyfloat',k(),random.choice([b'0.1',b'-0.37',b'1e3',b'224',b'5e-3',b'12.75']))
]
cmd('flushall'); cmd('rpush','l1','x')
out=open(sys.argv[2],'w')
for i in range(int(sys.argv[3])):
    a=random.choice(T)()
    args,rep=cmd(*a)
    out.write(' '.join(x.hex() for x in args)+' | '+rep.hex()+'\n')
