using System.Net;

namespace Stackit.EmbeddingWorker.Embeddings;

/// <summary>The endpoint refused a request. The message is the server's, never the request or its credentials.</summary>
internal sealed class EmbeddingRequestException(HttpStatusCode status, string serverMessage)
    : Exception($"embeddings endpoint answered {(int)status} {status}: {serverMessage}")
{
    public HttpStatusCode Status { get; } = status;

    public string ServerMessage { get; } = serverMessage;

    /// <summary>Worth trying again later: throttling, timeouts and server faults.</summary>
    public bool IsTransient => Status is HttpStatusCode.RequestTimeout or HttpStatusCode.TooManyRequests || (int)Status >= 500;

    /// <summary>Something in the inputs is wrong (too long, malformed): splitting the batch isolates it.</summary>
    public bool IsInputProblem => Status is HttpStatusCode.BadRequest or HttpStatusCode.RequestEntityTooLarge or HttpStatusCode.UnprocessableContent;
}
