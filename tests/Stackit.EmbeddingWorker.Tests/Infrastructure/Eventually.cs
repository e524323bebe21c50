namespace Stackit.EmbeddingWorker.Tests.Infrastructure;

/// <summary>Waiting in a test for something another part does in its own time.</summary>
internal static class Eventually
{
    /// <summary>Checks <paramref name="condition"/> every <paramref name="poll"/> until it holds; the test fails when <paramref name="timeout"/> passes first.</summary>
    public static async Task HoldsAsync(Func<bool> condition, TimeSpan timeout, TimeSpan poll, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"not reached within {timeout}");
            await Task.Delay(poll, cancellationToken);
        }
    }
}
