package uk.nhs.hee.tis.resilience.http;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ConnectException;
import java.net.SocketTimeoutException;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpTimeoutException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import uk.nhs.hee.tis.resilience.ServiceUnavailableException.Reason;

import static org.assertj.core.api.Assertions.assertThat;

class HttpFailureClassifierTests {

	@ParameterizedTest
	@ValueSource(ints = { 500, 502, 503, 504, 599 })
	void countsServerErrorsAsFailures(int status) {
		assertThat(HttpFailureClassifier.reasonForStatus(status)).isEqualTo(Reason.SERVER_ERROR);
	}

	@ParameterizedTest
	@ValueSource(ints = { 200, 201, 204, 301, 400, 401, 403, 404, 409, 422 })
	void countsOtherStatusesAsSuccesses(int status) {
		assertThat(HttpFailureClassifier.reasonForStatus(status)).isNull();
	}

	@Test
	void countsRequestTimeoutAndTooManyRequestsAsFailures() {
		assertThat(HttpFailureClassifier.reasonForStatus(408)).isEqualTo(Reason.TIMEOUT);
		assertThat(HttpFailureClassifier.reasonForStatus(429)).isEqualTo(Reason.THROTTLED);
	}

	@Test
	void recognisesARefusedConnectionThroughWrappers() {
		Exception wrapped = new UncheckedIOException(new IOException("I/O error", new ConnectException("refused")));
		assertThat(HttpFailureClassifier.reasonForException(wrapped)).isEqualTo(Reason.CONNECT_FAILURE);
		assertThat(HttpFailureClassifier.neverConnected(wrapped)).isTrue();
	}

	@Test
	void treatsAConnectTimeoutAsNeverConnected() {
		assertThat(HttpFailureClassifier.neverConnected(new HttpConnectTimeoutException("connect"))).isTrue();
	}

	@Test
	void recognisesTimeouts() {
		assertThat(HttpFailureClassifier.reasonForException(new SocketTimeoutException())).isEqualTo(Reason.TIMEOUT);
		assertThat(HttpFailureClassifier.reasonForException(new HttpTimeoutException("t"))).isEqualTo(Reason.TIMEOUT);
		assertThat(HttpFailureClassifier.neverConnected(new HttpTimeoutException("t"))).isFalse();
	}

	@Test
	void countsAnIoErrorMidExchangeAsAServerError() {
		assertThat(HttpFailureClassifier.reasonForException(new IOException("Connection reset")))
			.isEqualTo(Reason.SERVER_ERROR);
	}

	@Test
	void saysNothingOfExceptionsThatAreNotAboutAvailability() {
		assertThat(HttpFailureClassifier.reasonForException(new IllegalStateException("bug"))).isNull();
	}

	@Test
	void treatsIdempotentMethodsAndIdempotencyKeysAsSafeToRepeat() {
		assertThat(HttpFailureClassifier.isIdempotent("GET", false)).isTrue();
		assertThat(HttpFailureClassifier.isIdempotent("put", false)).isTrue();
		assertThat(HttpFailureClassifier.isIdempotent("DELETE", false)).isTrue();
		assertThat(HttpFailureClassifier.isIdempotent("POST", false)).isFalse();
		assertThat(HttpFailureClassifier.isIdempotent("PATCH", false)).isFalse();
		assertThat(HttpFailureClassifier.isIdempotent("POST", true)).isTrue();
	}

	@Test
	void readsRetryAfterInSecondsAndAsADate() {
		Clock clock = Clock.fixed(Instant.parse("2026-11-27T10:00:00Z"), ZoneOffset.UTC);
		assertThat(HttpFailureClassifier.parseRetryAfter("120", clock)).isEqualTo(Duration.ofSeconds(120));
		assertThat(HttpFailureClassifier.parseRetryAfter("Fri, 27 Nov 2026 10:00:30 GMT", clock))
			.isEqualTo(Duration.ofSeconds(30));
		assertThat(HttpFailureClassifier.parseRetryAfter("Fri, 27 Nov 2026 09:00:00 GMT", clock)).isZero();
		assertThat(HttpFailureClassifier.parseRetryAfter("soon", clock)).isNull();
		assertThat(HttpFailureClassifier.parseRetryAfter("-5", clock)).isNull();
		assertThat(HttpFailureClassifier.parseRetryAfter(null, clock)).isNull();
	}

	@Test
	void aConnectFailureAfterTheRequestWasSentIsNotARequestNeverSent() {
		// A redirect's target refused, after the first server had the request.
		Exception redirected = new RuntimeException(new RequestSentException("sent", new java.net.ConnectException("refused")));
		assertThat(HttpFailureClassifier.neverConnected(redirected)).isFalse();
		assertThat(HttpFailureClassifier.reasonForException(redirected)).isEqualTo(Reason.CONNECT_FAILURE);
		// Anything else after the request was sent is what it was.
		assertThat(HttpFailureClassifier.reasonForException(new RequestSentException("sent", new IOException("reset"))))
			.isEqualTo(Reason.SERVER_ERROR);
	}

}
