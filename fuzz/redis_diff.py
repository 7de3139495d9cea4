#!/usr/bin/env python3
"""Differential check of tandem-resp's request parser against a real redis-server.

Random request streams (ECHO/PING in multibulk and inline form, then a few byte
mutations) go to Redis on a fresh connection each; Redis's replies are counted
until it closes (or reports a protocol error). The parser sees the same bytes via the
`diff_parse` example; both must agree on the number of requests run and on the
protocol error line. Usage (redis-server already running on PORT):

    cargo build --release -p tandem-resp --example diff_parse
    REDIS_PORT=PORT python3 fuzz/redis_diff.py [seed] [count]
"""
import os, random, socket, subprocess, sys, concurrent.futures
port=int(os.environ.get('REDIS_PORT','6379'))
helper=os.path.join(os.environ.get('CARGO_TARGET_DIR','target'),'release','examples','diff_parse')
random.seed(int(sys.argv[1]) if len(sys.argv)>1 else 1)
def mb(args): return b'*%d\r\n'%len(args)+b''.join(b'$%d\r\n%s\r\n'%(len(a),a) for a in args)
def rnd_arg(): return bytes(random.choice(b'ab \r\n"\'\\x0\x00*$') for _ in range(random.randint(0,6)))
def gen():
    parts=[]
    for _ in range(random.randint(1,4)):
        r=random.random()
        if r<0.5: parts.append(mb([b'ECHO',rnd_arg()]))
        elif r<0.8: parts.append(b'ECHO '+rnd_arg()+random.choice([b'\r\n',b'\n',b'\r\r\n']))
        else: parts.append(random.choice([b'*0\r\n',b'*-1\r\n',b'\r\n',b'PING\r\n',b'*1\r\n$4\r\nPING\r\n']))
    data=bytearray(b''.join(parts))
    for _ in range(random.randint(0,3)):
        if not data: break
        i=random.randrange(len(data)); op=random.random()
        tok=random.choice([b'*',b'$',b'\r',b'\n',b'-',b'1',b'9',b'"',b"'",b' ',b'0',b'x',b'\\',bytes([random.randrange(256)])])
        if op<0.4: data[i:i+1]=tok
        elif op<0.7: data[i:i]=tok
        else: del data[i]
    return bytes(data)
def read_reply(f):
    l=f.readline()
    if not l: return None
    if l[:1]==b'$':
        n=int(l[1:-2])
        if n>=0: f.read(n+2)
    elif l[:1]==b'*':
        for _ in range(int(l[1:-2])): read_reply(f)
    return l
def redis_run(data):
    s=socket.create_connection(('127.0.0.1',port)); s.settimeout(2)
    s.sendall(data); s.shutdown(socket.SHUT_WR)
    f=s.makefile('rb'); n=0; err='-'
    try:
        while True:
            l=read_reply(f)
            if l is None: break
            if l.startswith(b'-ERR Protocol error'):
                err=l[:-2].decode('latin1').replace('\r',' ').replace('\n',' '); break
            n+=1
    except Exception as e: err='EXC %r'%e
    s.close(); return '%d\t%s'%(n,err)
inputs=[gen() for _ in range(int(sys.argv[2]) if len(sys.argv)>2 else 500)]
with concurrent.futures.ThreadPoolExecutor(8) as ex: theirs=list(ex.map(redis_run, inputs))
ours=subprocess.run([helper],input='\n'.join(d.hex() for d in inputs).encode()+b'\n',capture_output=True).stdout.decode('latin1').split('\n')
bad=0
for d,t,o in zip(inputs,theirs,ours):
    if t!=o:
        bad+=1
        if bad<=8: print('DIFF',repr(d),'redis:',repr(t),'ours:',repr(o))
print(len(inputs),'inputs',bad,'diffs')
sys.exit(1 if bad else 0)
