using System.Globalization;
using System.Xml.Linq;
using Microsoft.AspNetCore.Http;

namespace Stackit.EmbeddingWorker.Testing.QueueStandIn;

/// <summary>The Queue service's wire format as the stand-in reads and writes it: XML bodies, query parameters, error answers.</summary>
internal static class QueueWire
{
    /// <summary>The <c>MessageText</c> of a <c>QueueMessage</c> body, or null when the body is not one.</summary>
    public static async Task<string?> ReadTextAsync(HttpRequest request)
    {
        try
        {
            var body = await XDocument.LoadAsync(request.Body, LoadOptions.None, request.HttpContext.RequestAborted);
            return body.Root?.Elements().FirstOrDefault(e => e.Name.LocalName.Equals("MessageText", StringComparison.OrdinalIgnoreCase))?.Value;
        }
        catch (System.Xml.XmlException)
        {
            return null;
        }
    }

    public static TimeSpan? Seconds(HttpRequest request, string parameter, int fallback, int min, int max)
    {
        var given = request.Query[parameter].ToString();
        if (given.Length == 0)
        {
            return TimeSpan.FromSeconds(fallback);
        }
        return int.TryParse(given, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var seconds) && seconds >= min && seconds <= max
            ? TimeSpan.FromSeconds(seconds)
            : null;
    }

    public static int? Count(HttpRequest request)
    {
        var given = request.Query["numofmessages"].ToString();
        return given.Length == 0 ? 1
            : int.TryParse(given, NumberStyles.None, CultureInfo.InvariantCulture, out var count) && count is >= 1 and <= 32 ? count
            : null;
    }

    public static Task WriteMessagesAsync(HttpResponse response, int status, IEnumerable<StandInMessage> messages, bool withText, bool withDequeueCount, bool peeked = false)
    {
        var list = new XElement("QueueMessagesList", messages.Select(m => new XElement("QueueMessage",
            new XElement("MessageId", m.Id),
            new XElement("InsertionTime", Time(m.Inserted)),
            new XElement("ExpirationTime", Time(m.Expires)),
            peeked ? null : new XElement("PopReceipt", m.PopReceipt),
            peeked ? null : new XElement("TimeNextVisible", Time(m.NextVisible)),
            withDequeueCount ? new XElement("DequeueCount", m.DequeueCount) : null,
            withText ? new XElement("MessageText", m.Text) : null)));
        response.StatusCode = status;
        response.ContentType = "application/xml";
        return response.WriteAsync(new XDeclaration("1.0", "utf-8", null) + list.ToString(SaveOptions.DisableFormatting));
    }

    public static Task FailAsync(HttpResponse response, QueueError error)
    {
        response.StatusCode = error.Status;
        response.Headers["x-ms-error-code"] = error.Code;
        if (response.HttpContext.Request.Method == "HEAD")
        {
            return Task.CompletedTask;
        }
        response.ContentType = "application/xml";
        var body = new XElement("Error", new XElement("Code", error.Code), new XElement("Message", error.Message));
        return response.WriteAsync(new XDeclaration("1.0", "utf-8", null) + body.ToString(SaveOptions.DisableFormatting));
    }

    public static QueueError? NoContent(HttpResponse response)
    {
        response.StatusCode = 204;
        return null;
    }

    public static string Time(DateTimeOffset time) => time.ToString("R", CultureInfo.InvariantCulture);
}
