# 示例代码来自《Python爬虫开发与项目实战》,作者范传辉

from multiprocessing.managers import BaseManager
import queue


# 创建队列
task_queue = queue.Queue()
result_queue = queue.Queue()

# 注册方法,在网络上暴露队列
# QueueManager.register(typeid="get_task_queue", callable=lambda: task_queue)
# QueueManager.register(typeid='get_result_queue', callable=lambda: result_queue)
BaseManager.register(typeid="get_task_queue", callable=lambda: task_queue)
BaseManager.register(typeid='get_result_queue', callable=lambda: result_queue)

# 创建本例manager实例
address = ('127.0.0.1', 8001)
# manager = QueueManager(address=address, authkey=b'biu')
manager = BaseManager(address=address, authkey=b'biu')

# 启动
manager.start()

# 通过管理实例的方法获得通过网络访问的Queue对象
task = manager.get_task_queue()
result = manager.get_result_queue()

# 添加任务
for url in ["image_url_" + str(i) for i in range(10)]:
    print('put task %s...' % url)
    task.put(url)

# 获取返回结果
print("try get result...")
for i in range(10):
    print('result in %s ' % result.get(timeout=10))

manager.shutdown()
