namespace Stackit.EmbeddingWorker.Diagnostics;

/// <summary>
/// The scope every log line about one job carries: <c>MessageId</c> always, <c>DocumentId</c> once the
/// message is parsed. With <c>Logging:Console:FormatterOptions:IncludeScopes</c> (the chart sets it) the JSON
/// console puts both on each line, so one job's lines can be found across stages.
/// </summary>
internal static class JobLogScope
{
    private static readonly Func<ILogger, string, string?, IDisposable?> Scope =
        LoggerMessage.DefineScope<string, string?>("message {MessageId} document {DocumentId}");

    public static IDisposable? Begin(ILogger logger, string messageId, string? documentId) => Scope(logger, messageId, documentId);
}
