package uk.nhs.hee.tis.resilience.autoconfigure.http;

import java.util.List;
import java.util.stream.Stream;

import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

import org.springframework.boot.test.context.runner.ApplicationContextRunner;

import uk.nhs.hee.tis.resilience.ServiceUnavailableException;
import uk.nhs.hee.tis.resilience.ServiceUnavailableException.Reason;
import uk.nhs.hee.tis.resilience.autoconfigure.LoopbackFixtures;
import uk.nhs.hee.tis.resilience.autoconfigure.ScriptedSocketServer;
import uk.nhs.hee.tis.resilience.autoconfigure.ScriptedSocketServer.Reply;
import uk.nhs.hee.tis.resilience.internal.BrokenOffResponseException;
import uk.nhs.hee.tis.resilience.policy.ServiceGuardRegistry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatExceptionOfType;

/**
 * A response whose body the service breaks off (it declares 1000 bytes, sends 100, and resets the
 * connection) is the service failing: the caller gets a {@link ServiceUnavailableException} saying the
 * response broke off, the breaker counts it, and a request that is safe to repeat is retried while no
 * byte of the body has reached the caller. Counted on the wire, by a server that reads each request.
 */
class BrokenOffBodyTests {

	private ScriptedSocketServer server;

	@AfterEach
	void stopServer() throws Exception {
		if (this.server != null) {
			this.server.close();
		}
	}

	private ApplicationContextRunner runner(Reply... replies) throws Exception {
		List<Reply> script = List.of(replies);
		this.server = new ScriptedSocketServer((n) -> script.get(Math.min(n, script.size()) - 1));
		return new ApplicationContextRunner().withConfiguration(LoopbackFixtures.protectedHttpClients())
			.withPropertyValues("tis.resilience.services.profile.url=" + this.server.url("/profile"),
					"tis.resilience.defaults.retry.initial-backoff=10ms");
	}

	static Stream<Arguments> framings() {
		return Stream.of(ClientKind.values())
			// 20 000 bytes outgrow the first read-ahead buffer (8 KiB) of a body of unknown length.
			.flatMap((kind) -> Stream.of(Arguments.of(kind, 1000, 100), Arguments.of(kind, -1, 100),
					Arguments.of(kind, -1, 20_000), Arguments.of(kind, 30_000, 20_000)));
	}

	@ParameterizedTest(name = "{0}, Content-Length {1}, broken off after {2}")
	@MethodSource("framings")
	void retriesAGetWhoseBodyBrokeOffAndHandsOverTheWholeSecondAnswer(ClientKind kind, int declared, int sent)
			throws Exception {
		runner(Reply.brokenOff(declared, sent), Reply.ok("whole"))
			.withPropertyValues("tis.resilience.services.profile.retry.max-attempts=2")
			.run((context) -> {
				assertThat(kind.create(context).get(this.server.url("/profile/api/userinfo"))).isEqualTo("whole");
				assertThat(this.server.requests()).hasSize(2);
				CircuitBreaker breaker = context.getBean(ServiceGuardRegistry.class).guard("profile").circuitBreaker();
				assertThat(breaker.getMetrics().getNumberOfSuccessfulCalls()).isEqualTo(1);
				assertThat(breaker.getMetrics().getNumberOfFailedCalls()).isZero();
			});
	}

	@ParameterizedTest
	@EnumSource(ClientKind.class)
	void handsOverAWholeChunkedBodyThatOutgrowsTheFirstReadAheadBuffer(ClientKind kind) throws Exception {
		StringBuilder body = new StringBuilder();
		for (int i = 0; body.length() < 40_000; i++) {
			body.append(i).append(',');
		}
		runner(Reply.chunked(body.toString())).withPropertyValues("tis.resilience.services.profile.retry.max-attempts=2")
			.run((context) -> {
				assertThat(kind.create(context).get(this.server.url("/profile/api/userinfo"))).isEqualTo(body.toString());
				assertThat(this.server.requests()).hasSize(1);
			});
	}

	@ParameterizedTest(name = "{0}, Content-Length {1}, broken off after {2}")
	@MethodSource("framings")
	void reportsABodyThatKeepsBreakingOffAsTheServiceFailingOnceEveryAttemptIsSpent(ClientKind kind, int declared,
			int sent) throws Exception {
		runner(Reply.brokenOff(declared, sent))
			.withPropertyValues("tis.resilience.services.profile.retry.max-attempts=2")
			.run((context) -> {
				assertThatExceptionOfType(ServiceUnavailableException.class)
					.isThrownBy(() -> kind.create(context).get(this.server.url("/profile/api/userinfo")))
					.satisfies((ex) -> assertThat(ex.reason()).isEqualTo(Reason.SERVER_ERROR))
					.satisfies((ex) -> assertThat(ex.service()).isEqualTo("profile"))
					.satisfies((ex) -> assertThat(ex).hasMessageContaining("the response broke off after")
						.hasRootCauseInstanceOf(java.io.IOException.class)
						.cause()
						.isInstanceOf(BrokenOffResponseException.class));
				assertThat(this.server.requests()).hasSize(2);
				CircuitBreaker breaker = context.getBean(ServiceGuardRegistry.class).guard("profile").circuitBreaker();
				assertThat(breaker.getMetrics().getNumberOfFailedCalls()).isEqualTo(1);
				assertThat(context.getBean(ServiceGuardRegistry.class)
					.guard("profile")
					.bulkhead()
					.getMetrics()
					.getAvailableConcurrentCalls()).isEqualTo(25);
			});
	}

	@ParameterizedTest
	@EnumSource(ClientKind.class)
	void sendsAGetOnceWhenOneAttemptIsAllowedAndSaysTheBodyBrokeOff(ClientKind kind) throws Exception {
		runner(Reply.brokenOff(1000, 100))
			.withPropertyValues("tis.resilience.services.profile.retry.max-attempts=1")
			.run((context) -> {
				assertThatExceptionOfType(ServiceUnavailableException.class)
					.isThrownBy(() -> kind.create(context).get(this.server.url("/profile/api/userinfo")))
					.satisfies((ex) -> assertThat(ex.reason()).isEqualTo(Reason.SERVER_ERROR))
					.satisfies((ex) -> assertThat(ex).hasMessageContaining("the response broke off after")
						.hasMessageContaining("of 1000 bytes"));
				assertThat(this.server.requests()).hasSize(1);
				assertThat(context.getBean(ServiceGuardRegistry.class)
					.guard("profile")
					.circuitBreaker()
					.getMetrics()
					.getNumberOfFailedCalls()).isEqualTo(1);
			});
	}

	@ParameterizedTest
	@EnumSource(ClientKind.class)
	void neverSendsAPostWhoseBodyBrokeOffAgain(ClientKind kind) throws Exception {
		runner(Reply.brokenOff(1000, 100), Reply.ok("second"))
			.withPropertyValues("tis.resilience.services.profile.retry.max-attempts=3")
			.run((context) -> {
				assertThatExceptionOfType(ServiceUnavailableException.class)
					.isThrownBy(() -> kind.create(context).post(this.server.url("/profile/api/trainees"), "{}"))
					.satisfies((ex) -> assertThat(ex.reason()).isEqualTo(Reason.SERVER_ERROR));
				assertThat(this.server.requests()).containsExactly("POST /profile/api/trainees HTTP/1.1");
			});
	}

	@ParameterizedTest
	@EnumSource(ClientKind.class)
	void reportsABodyLongerThanTheReadAheadThatBreaksOffWithoutRetryingIt(ClientKind kind) throws Exception {
		// Past the part read ahead, the body streams to the caller: sending the request again could hand
		// over a second copy of what was already read.
		int declared = 4 * ReadAheadResponse.LIMIT;
		runner(Reply.brokenOff(declared, 2 * ReadAheadResponse.LIMIT), Reply.ok("second"))
			.withPropertyValues("tis.resilience.services.profile.retry.max-attempts=3")
			.run((context) -> {
				assertThatExceptionOfType(ServiceUnavailableException.class)
					.isThrownBy(() -> kind.create(context).get(this.server.url("/profile/api/userinfo")))
					.satisfies((ex) -> assertThat(ex.reason()).isEqualTo(Reason.SERVER_ERROR))
					.satisfies((ex) -> assertThat(ex).hasMessageContaining("of " + declared + " bytes"));
				assertThat(this.server.requests()).hasSize(1);
			});
	}

}
