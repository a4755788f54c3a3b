import Foundation
import Support
import TestSupport
import Testing

struct ConcurrentMapTests {
  @Test func resultsComeBackInOrderAndTheLimitHolds() {
    let running = Locked(0)
    let most = Locked(0)
    let results = concurrentMap(7, limit: 3) { index -> Int in
      let now = running.withLock { value -> Int in
        value += 1
        return value
      }
      most.withLock { $0 = max($0, now) }
      Thread.sleep(forTimeInterval: 0.1)
      running.withLock { $0 -= 1 }
      return index * index
    }
    #expect(results == [0, 1, 4, 9, 16, 25, 36])
    #expect(most.current == 3, "three at once, never more")
  }

  @Test func aLimitOfOneRunsInOrderOnTheCallingThread() {
    let caller = pthread_self()
    let order = Locked<[Int]>([])
    let sameThread = Locked(true)
    _ = concurrentMap(4, limit: 1) { index in
      order.withLock { $0.append(index) }
      if pthread_equal(pthread_self(), caller) == 0 { sameThread.withLock { $0 = false } }
    }
    #expect(order.current == [0, 1, 2, 3])
    #expect(sameThread.current)
  }
}
