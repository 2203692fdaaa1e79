package uk.nhs.hee.tis.resilience.autoconfigure.web;

import java.time.Duration;

import org.junit.jupiter.api.Test;
import reactor.core.publisher.Mono;

import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.test.web.reactive.server.WebTestClient;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.RestController;

import uk.nhs.hee.tis.resilience.ServiceUnavailableException;
import uk.nhs.hee.tis.resilience.ServiceUnavailableException.Reason;

/** The same Problem Details answer from a WebFlux controller. */
class ReactiveProblemDetailsTests {

	private final WebTestClient client = WebTestClient.bindToController(new ReactiveController())
		.controllerAdvice(new ServiceUnavailableProblemHandler())
		.build();

	@Test
	void answers503ProblemJsonWithRetryAfterFromAWebFluxController() {
		this.client.get()
			.uri("/api/open")
			.exchange()
			.expectStatus()
			.isEqualTo(HttpStatus.SERVICE_UNAVAILABLE)
			.expectHeader()
			.contentType(MediaType.APPLICATION_PROBLEM_JSON)
			.expectHeader()
			.valueEquals("Retry-After", "3")
			.expectBody()
			.jsonPath("$.service")
			.isEqualTo("profile")
			.jsonPath("$.reason")
			.isEqualTo("CIRCUIT_OPEN")
			.jsonPath("$.status")
			.isEqualTo(503);
	}

	@Test
	void answers504ForATimeoutFromAWebFluxController() {
		this.client.get().uri("/api/timeout").exchange().expectStatus().isEqualTo(HttpStatus.GATEWAY_TIMEOUT);
	}

	@RestController
	static class ReactiveController {

		@GetMapping("/api/open")
		Mono<String> open() {
			return Mono.error(new ServiceUnavailableException("profile", Reason.CIRCUIT_OPEN, Duration.ofMillis(2_500),
					null));
		}

		@GetMapping("/api/timeout")
		Mono<String> timeout() {
			return Mono.error(new ServiceUnavailableException("profile", Reason.TIMEOUT));
		}

	}

}
