using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using Stackit.EmbeddingWorker.Diagnostics;

namespace Stackit.EmbeddingWorker.Tests.Diagnostics;

public sealed class OutageLogTests
{
    [Fact]
    public void An_outage_of_five_minutes_with_a_failure_a_second_logs_six_lines_above_Debug_and_no_stack()
    {
        var time = new FakeTimeProvider(DateTimeOffset.Parse("2026-12-06T20:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
        var logger = new ListLogger();
        var outage = new OutageLog("Queue documents", logger, time);
        var failure = new AggregateException("Retry failed after 6 tries.",
            Enumerable.Range(0, 6).Select(_ => new System.Net.Http.HttpRequestException("Connection refused (127.0.0.1:10001)\nsecond line")));

        outage.Succeeded();
        for (var second = 0; second < 300; second++)
        {
            outage.Failed(failure, "trying again in 00:00:01");
            time.Advance(TimeSpan.FromSeconds(1));
        }
        outage.Succeeded();
        outage.Succeeded();

        var loud = logger.Entries.Where(e => e.Level > LogLevel.Debug).ToList();
        Assert.Equal(6, loud.Count);
        Assert.Equal("Queue documents is down: HttpRequestException: Connection refused (127.0.0.1:10001); trying again in 00:00:01 (the stack of each failure at Debug)", loud[0].Message);
        Assert.All(loud.Skip(1).Take(4), e => Assert.StartsWith("Queue documents still down after 00:0", e.Message, StringComparison.Ordinal));
        Assert.Equal("Queue documents is back after 00:05:00 (300 failed attempts)", loud[5].Message);
        Assert.Equal(LogLevel.Information, loud[5].Level);
        Assert.All(loud, e => Assert.Null(e.Exception));
        Assert.Equal(300, logger.Entries.Count(e => e.Level == LogLevel.Debug && e.Exception is not null));
        Assert.False(outage.IsDown);
    }

    private sealed class ListLogger : ILogger
    {
        public List<(LogLevel Level, string Message, Exception? Exception)> Entries { get; } = [];

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            Entries.Add((logLevel, formatter(state, exception), exception));
    }
}
