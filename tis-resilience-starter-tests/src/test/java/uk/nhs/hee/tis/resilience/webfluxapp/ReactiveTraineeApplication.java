package uk.nhs.hee.tis.resilience.webfluxapp;

import reactor.core.publisher.Mono;

import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.context.annotation.Bean;
import org.springframework.core.env.Environment;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.reactive.function.client.WebClient;
import org.springframework.web.reactive.function.server.RouterFunction;
import org.springframework.web.reactive.function.server.RouterFunctions;
import org.springframework.web.reactive.function.server.ServerResponse;

/**
 * A WebFlux service written as a team writes one: it calls Profile with a {@code WebClient} from Boot's
 * builder, from an annotated controller and from a functional route. No line of it mentions the starter.
 */
@SpringBootApplication
public class ReactiveTraineeApplication {

	static WebClient profile(WebClient.Builder builder, Environment environment) {
		return builder.baseUrl(environment.getRequiredProperty("profile.base-url")).build();
	}

	@Bean
	RouterFunction<ServerResponse> functionalRoutes(WebClient.Builder builder, Environment environment) {
		WebClient profile = profile(builder, environment);
		return RouterFunctions.route()
			.GET("/fn/me", (request) -> profile.get()
				.uri("/api/userinfo")
				.retrieve()
				.bodyToMono(String.class)
				.flatMap((body) -> ServerResponse.ok().bodyValue(body)))
			.build();
	}

	@RestController
	static class TraineeController {

		private final WebClient profile;

		TraineeController(WebClient.Builder builder, Environment environment) {
			this.profile = profile(builder, environment);
		}

		@GetMapping("/api/me")
		Mono<String> me() {
			return this.profile.get().uri("/api/userinfo").retrieve().bodyToMono(String.class);
		}

	}

}
