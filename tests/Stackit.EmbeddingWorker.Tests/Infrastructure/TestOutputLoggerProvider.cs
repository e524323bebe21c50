using Microsoft.Extensions.Logging;

namespace Stackit.EmbeddingWorker.Tests.Infrastructure;

/// <summary>Writes the worker's log to the current test's output, so a failing test shows what happened.</summary>
internal sealed class TestOutputLoggerProvider(ITestOutputHelper output, List<string>? capture = null) : ILoggerProvider
{
    public ILogger CreateLogger(string categoryName) => new Logger(output, capture, categoryName);

    public void Dispose()
    {
    }

    private sealed class Logger(ITestOutputHelper output, List<string>? capture, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var line = $"{logLevel,-11} {category.Split('.').Last()}: {formatter(state, exception)}{(exception is null ? "" : " | " + exception.GetType().Name + ": " + exception.Message)}";
            if (capture is not null)
            {
                // The capture keeps the whole exception, stack and inner exceptions included.
                lock (capture)
                {
                    capture.Add(exception is null ? line : line + Environment.NewLine + exception);
                }
            }
            if (logLevel >= LogLevel.Information && !category.StartsWith("System.Net.Http", StringComparison.Ordinal) && !category.StartsWith("Microsoft", StringComparison.Ordinal))
            {
                try
                {
                    output.WriteLine(line);
                }
                catch (InvalidOperationException)
                {
                    // The test has ended; background stages may still log while the host stops.
                }
            }
        }
    }
}
