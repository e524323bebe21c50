using Microsoft.Extensions.Options;

namespace Stackit.EmbeddingWorker.Messaging;

/// <summary>Checks <see cref="QueueOptions"/> (its attributes and <c>Validate</c>): generated at build, no reflection at start.</summary>
[OptionsValidator]
internal sealed partial class QueueOptionsValidator : IValidateOptions<QueueOptions>;
