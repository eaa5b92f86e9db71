# 示例代码来自《Python爬虫开发与项目实战》,作者范传辉
import time
from multiprocessing.managers import BaseManager

# 注册用于获取queue的方法名称
BaseManager.register(typeid='get_task_queue')
BaseManager.register(typeid='get_result_queue')

# 连接到服务器
server_addr = ('127.0.0.1', 8001)
print("connect to server %s" % str(server_addr))
manager = BaseManager(address=server_addr, authkey=b'biu')
manager.connect()

# 获取queue对象
task = manager.get_task_queue()
result = manager.get_result_queue()

while not task.empty():
    image_url = task.get(True,timeout=5)
    print('run task download %s...' % image_url)
    time.sleep(1)
    result.put("%s ---> success" % image_url)

# 处理结束
print('worker exit')
